import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuditRepository } from '../audit/audit.repository';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ApiKeyRepository } from './api-key.repository';
import { PERMISSIONS, Principal } from './permission';

/** How long a looked-up key (or a miss) is trusted before PostgreSQL is asked again. */
const CACHE_TTL_MS = 10_000;
const CACHE_MAX_ENTRIES = 10_000;

/**
 * API keys are 32 random bytes, so a plain SHA-256 is a sound way to store
 * them (no dictionary to guard against, and lookups stay one indexed query).
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateApiKey(): string {
  return `eg_${randomBytes(32).toString('base64url')}`;
}

@Injectable()
export class ApiKeyService implements OnApplicationBootstrap {
  private readonly logger = new Logger('ApiKeys');
  private readonly adminHash?: Buffer;
  private readonly cache = new Map<string, { principal: Principal | null; expiresAt: number }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly keys: ApiKeyRepository,
    private readonly audit: AuditRepository,
  ) {
    if (config.adminApiKey) this.adminHash = Buffer.from(hashApiKey(config.adminApiKey), 'hex');
  }

  /** The principal a presented key stands for, or null when it is not a valid key. */
  async authenticate(presented: string): Promise<Principal | null> {
    const hash = hashApiKey(presented);
    if (this.adminHash && timingSafeEqual(Buffer.from(hash, 'hex'), this.adminHash)) {
      return ADMIN_PRINCIPAL;
    }
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.expiresAt > now) return cached.principal;
    const record = await this.keys.findActiveByHash(hash);
    const principal = record
      ? new Principal(record.id, record.name, new Set(record.permissions), record.strategies)
      : null;
    if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.clear();
    this.cache.set(hash, { principal, expiresAt: now + CACHE_TTL_MS });
    return principal;
  }

  /**
   * Without ADMIN_API_KEY and without any stored key nobody could call the
   * gateway: outside production a bootstrap admin key is generated, stored
   * hashed and printed once; in production the start is refused.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (this.config.adminApiKey) return;
    const generated = await this.keys.withBootstrapLock(async (manager) => {
      if ((await this.keys.countActive(manager)) > 0) return null;
      if (this.config.isProduction) {
        throw new Error(
          'no API keys exist and ADMIN_API_KEY is not set: refusing to start in production (set ADMIN_API_KEY)',
        );
      }
      const key = generateApiKey();
      const record = await this.keys.insert(
        {
          name: 'bootstrap-admin',
          keyHash: hashApiKey(key),
          keyPrefix: key.slice(0, 10),
          permissions: [...PERMISSIONS],
          strategies: ['*'],
          createdBy: 'system',
        },
        manager,
      );
      await this.audit.append(
        {
          action: 'api_key.created',
          actor: 'system',
          details: { key_id: record.id, name: record.name, reason: 'bootstrap: no ADMIN_API_KEY and no stored keys' },
        },
        manager,
      );
      return key;
    });
    if (generated) {
      // Printed once, straight to the terminal rather than the structured log.
      process.stdout.write(
        `\n  No ADMIN_API_KEY and no stored API keys: generated a bootstrap admin key (shown only now):\n\n    ${generated}\n\n  Use it as "Authorization: Bearer <key>" or "X-API-Key: <key>".\n\n`,
      );
      this.logger.warn('generated a bootstrap admin API key (printed to the terminal once)');
    }
  }
}

const ADMIN_PRINCIPAL = new Principal('admin', 'admin', new Set(PERMISSIONS), ['*']);
