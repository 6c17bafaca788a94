import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API-key management (docs/api.md#api-keys, docs/api.md#authentication): keys are revoked, never deleted, so the
 * audit trail can always name the key an actor stood for.
 *
 * - revoked_by: who revoked the key (an API key's name, `cli`); with
 *   revoked_at, set once and never cleared.
 * - last_used_at: refreshed when a replica looks the key up in PostgreSQL
 *   (at most once per lookup-cache period per replica), so it is accurate to
 *   about ten seconds and costs the request path nothing.
 */
export class ApiKeyManagement1764300000000 implements MigrationInterface {
  name = 'ApiKeyManagement1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE api_keys
        ADD COLUMN revoked_by   TEXT,
        ADD COLUMN last_used_at TIMESTAMPTZ,
        ADD CONSTRAINT api_keys_revoked_by_needs_revoked_at CHECK (revoked_by IS NULL OR revoked_at IS NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE api_keys
        DROP CONSTRAINT api_keys_revoked_by_needs_revoked_at,
        DROP COLUMN last_used_at,
        DROP COLUMN revoked_by`);
  }
}
