import { Injectable } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository';
import { ConflictError, NotFoundError } from '../common/domain-error';
import { UnitOfWork } from '../infra/database/unit-of-work';
import { isApiKeyId, NewApiKey } from './api-key-policy';
import { ApiKeyRecord, ApiKeyRepository } from './api-key.repository';
import { ApiKeyService, generateApiKey, hashApiKey } from './api-key.service';

/** Who performs a control action: the acting key (name and id) or `cli`, and the request it came with. */
export interface Operator {
  actor: string;
  /** The acting key's id; null for the command line. */
  keyId: string | null;
  requestId?: string | null;
  /** More about the operator for the audit row (the command line's OS user, say). */
  context?: Record<string, unknown>;
}

export interface CreatedApiKey {
  record: ApiKeyRecord;
  /** The key in clear: returned once, to be shown once, stored nowhere. */
  key: string;
}

/** How many leading characters of a key are kept in clear, so operators can tell keys apart in listings. */
export const KEY_PREFIX_LENGTH = 10;

/**
 * Creating, listing and revoking API keys (docs/api.md#api-keys, the `keys`
 * command). Every change is written with its audit row in one transaction,
 * naming the operator. Revocation is soft (revoked_at) and idempotent; a key
 * may not revoke itself (ask another key holding MANAGE_API_KEYS, the
 * ADMIN_API_KEY, or the `keys` command), so an operator cannot lock a session
 * out halfway through a change.
 */
@Injectable()
export class ManageApiKeysUseCase {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly keys: ApiKeyRepository,
    private readonly audit: AuditRepository,
    private readonly apiKeys: ApiKeyService,
  ) {}

  async create(cmd: NewApiKey, op: Operator): Promise<CreatedApiKey> {
    const key = generateApiKey();
    const record = await this.uow.run(async (tx) => {
      const inserted = await this.keys.insert(
        {
          name: cmd.name,
          keyHash: hashApiKey(key),
          keyPrefix: key.slice(0, KEY_PREFIX_LENGTH),
          permissions: cmd.permissions,
          strategies: cmd.strategies,
          createdBy: op.actor,
        },
        tx,
      );
      await this.audit.append(
        {
          action: 'api_key.created',
          actor: op.actor,
          requestId: op.requestId ?? null,
          details: {
            key_id: inserted.id,
            name: inserted.name,
            key_prefix: inserted.keyPrefix,
            permissions: inserted.permissions,
            strategies: inserted.strategies,
            operator_key_id: op.keyId,
            ...op.context,
          },
        },
        tx,
      );
      return inserted;
    });
    return { record, key };
  }

  async list(): Promise<ApiKeyRecord[]> {
    return this.keys.list();
  }

  /** Revokes the key; revoking a revoked key answers it unchanged (and audits nothing new). */
  async revoke(id: string, op: Operator): Promise<ApiKeyRecord> {
    if (!isApiKeyId(id)) throw notFound(id);
    if (op.keyId === id) {
      throw new ConflictError(
        'API_KEY_SELF_REVOCATION',
        'A key cannot revoke itself: use another key with MANAGE_API_KEYS, the ADMIN_API_KEY or `npm run keys -- revoke`',
      );
    }
    const record = await this.uow.run(async (tx) => {
      const revoked = await this.keys.revokeIfActive(id, op.actor, tx);
      if (!revoked) return (await this.keys.findById(id, tx)) ?? null;
      await this.audit.append(
        {
          action: 'api_key.revoked',
          actor: op.actor,
          requestId: op.requestId ?? null,
          details: {
            key_id: revoked.id,
            name: revoked.name,
            key_prefix: revoked.keyPrefix,
            operator_key_id: op.keyId,
            ...op.context,
          },
        },
        tx,
      );
      return revoked;
    });
    if (!record) throw notFound(id);
    // Announced even when it was revoked already: a replica that missed the first message hears it now.
    await this.apiKeys.announceRevocation(record.id);
    return record;
  }
}

function notFound(id: string): NotFoundError {
  return new NotFoundError('API_KEY_NOT_FOUND', `No stored API key has the id "${id.slice(0, 64)}"`);
}
