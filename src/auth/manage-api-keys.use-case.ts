import { Injectable } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository';
import { ConflictError, ForbiddenError, NotFoundError } from '../common/domain-error';
import { UnitOfWork } from '../infra/database/unit-of-work';
import { isApiKeyId, NewApiKey } from './api-key-policy';
import { covers, describeExcess, KeyScope, scopeExcess, ScopeExcess } from './api-key-scope';
import { ApiKeyRecord, ApiKeyRepository } from './api-key.repository';
import { ApiKeyService, generateApiKey, hashApiKey } from './api-key.service';

/** Who performs a control action: the acting key (name and id) or `cli`, and the request it came with. */
export interface Operator {
  actor: string;
  /** The acting key's id; null for the command line. */
  keyId: string | null;
  /**
   * What the acting key holds: it creates, revokes and lists only keys within
   * it (docs/api.md#api-keys). Null only for the command line, which keeps the
   * operator's powers.
   */
  scope: KeyScope | null;
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
 * out halfway through a change. A key acts only within its own scope: it
 * cannot create a key wider than itself, nor revoke or see one (403
 * API_KEY_ESCALATION, audited as api_key.escalation_refused).
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
    if (op.scope) {
      const excess = scopeExcess(op.scope, cmd);
      if (!isEmpty(excess)) {
        throw await this.refuse(op, 'create', excess, {
          name: cmd.name,
          permissions: cmd.permissions,
          strategies: cmd.strategies,
        });
      }
    }
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

  /** Every key within the operator's scope (every key for the command line). */
  async list(op: Pick<Operator, 'scope'>): Promise<ApiKeyRecord[]> {
    const all = await this.keys.list();
    const scope = op.scope;
    return scope ? all.filter((k) => covers(scope, k)) : all;
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
    if (op.scope) {
      const target = await this.keys.findById(id);
      if (!target) throw notFound(id);
      const excess = scopeExcess(op.scope, target);
      if (!isEmpty(excess)) {
        throw await this.refuse(op, 'revoke', excess, { key_id: target.id, name: target.name });
      }
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

  /** Audits a refused escalation and returns the error to throw. */
  private async refuse(
    op: Operator,
    operation: 'create' | 'revoke',
    excess: ScopeExcess,
    target: Record<string, unknown>,
  ): Promise<ForbiddenError> {
    await this.audit.append({
      action: 'api_key.escalation_refused',
      actor: op.actor,
      requestId: op.requestId ?? null,
      reasonCode: 'API_KEY_ESCALATION',
      details: {
        operation,
        ...target,
        exceeding_permissions: excess.permissions,
        exceeding_strategies: excess.strategies,
        operator_key_id: op.keyId,
      },
    });
    const what = operation === 'create' ? 'create a key with' : 'revoke a key holding';
    return new ForbiddenError(
      'API_KEY_ESCALATION',
      `This API key cannot ${what} ${describeExcess(excess)}: a key manages only keys within its own permissions and strategies`,
      { operation, exceeding_permissions: excess.permissions, exceeding_strategies: excess.strategies },
    );
  }
}

function isEmpty(e: ScopeExcess): boolean {
  return e.permissions.length === 0 && e.strategies.length === 0;
}

function notFound(id: string): NotFoundError {
  return new NotFoundError('API_KEY_NOT_FOUND', `No stored API key has the id "${id.slice(0, 64)}"`);
}
