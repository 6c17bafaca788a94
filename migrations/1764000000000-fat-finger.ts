import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fat-finger thresholds (docs/risk-and-safety.md#fat-finger), live-editable and durable.
 *
 * - fat_finger_settings: exactly one row (id = 1), the global defaults. A
 *   default left NULL is the configured one (FAT_FINGER_*), so the
 *   environment decides until an operator sets a value. `version` grows by
 *   one per change (in the same transaction as its audit row), so a replica
 *   never goes back to an older set it read late.
 * - fat_finger_symbol_overrides: per-symbol overrides; a NULL field falls
 *   back to the default; a row always overrides at least one field.
 */
export class FatFinger1764000000000 implements MigrationInterface {
  name = 'FatFinger1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE fat_finger_settings (
        id                    SMALLINT PRIMARY KEY CHECK (id = 1),
        max_notional          NUMERIC CHECK (max_notional > 0),
        max_qty               NUMERIC CHECK (max_qty > 0),
        max_adv_pct           NUMERIC CHECK (max_adv_pct > 0 AND max_adv_pct <= 1),
        max_price_age_seconds INTEGER CHECK (max_price_age_seconds BETWEEN 1 AND 86400),
        version               BIGINT NOT NULL,
        updated_at            TIMESTAMPTZ,
        updated_by            TEXT
      )`);
    await q.query(`INSERT INTO fat_finger_settings (id, version) VALUES (1, 0)`);

    await q.query(`
      CREATE TABLE fat_finger_symbol_overrides (
        symbol       TEXT PRIMARY KEY,
        max_notional NUMERIC CHECK (max_notional > 0),
        max_qty      NUMERIC CHECK (max_qty > 0),
        max_adv_pct  NUMERIC CHECK (max_adv_pct > 0 AND max_adv_pct <= 1),
        updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_by   TEXT NOT NULL,
        CHECK (num_nonnulls(max_notional, max_qty, max_adv_pct) > 0)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE fat_finger_symbol_overrides');
    await q.query('DROP TABLE fat_finger_settings');
  }
}
