import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuditRepository } from '../audit/audit.repository';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock } from '../infra/clock/clock';
import { StateStore } from '../infra/state/state-store';
import { ApiKeyRepository } from './api-key.repository';
import { BootstrapKeyNotice, writeBootstrapKeyFile } from './bootstrap-key';
import { PERMISSIONS, Principal } from './permission';

/** How long a looked-up key (or a miss) is trusted before PostgreSQL is asked again. */
const CACHE_TTL_MS = 10_000;
/**
 * Known keys and misses are cached apart, each bounded, the oldest entry
 * dropped first: a flood of unknown keys evicts only other misses, never a
 * key in use (docs/security.md#authentication-throttling).
 */
export const CACHE_MAX_KEYS = 10_000;
export const CACHE_MAX_MISSES = 1_000;

interface CacheEntry<T> {
  value: T;
  expiresAt: number;
}

/** A map bounded by insertion order: at capacity, the oldest entry goes. */
class BoundedCache<T> {
  private readonly entries = new Map<string, CacheEntry<T>>();
  constructor(private readonly max: number) {}

  get(key: string, now: number): T | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: T, expiresAt: number): void {
    this.entries.delete(key);
    while (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt });
  }

  deleteWhere(match: (value: T) => boolean): void {
    for (const [key, e] of this.entries) if (match(e.value)) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
/**
 * Revocations are announced here, so every replica drops the key from its
 * lookup cache at once instead of trusting it for up to CACHE_TTL_MS more.
 * Pub/sub is fire-and-forget: a replica that misses the message (Redis away
 * at that moment) still forgets the key when its cache entry expires.
 * `<prefix>auth.api-keys.revoked` on the wire (the state store prefixes every
 * channel); a message only makes a replica ask PostgreSQL again.
 */
export const API_KEY_REVOKED_CHANNEL = 'auth.api-keys.revoked';

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
export class ApiKeyService implements OnModuleInit, OnModuleDestroy, OnApplicationBootstrap {
  private readonly logger = new Logger('ApiKeys');
  private readonly adminHash?: Buffer;
  private readonly known = new BoundedCache<Principal>(CACHE_MAX_KEYS);
  private readonly misses = new BoundedCache<true>(CACHE_MAX_MISSES);
  /** Grows with every revocation, so a lookup that raced one is not cached. */
  private generation = 0;
  private unsubscribe?: () => Promise<void>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly keys: ApiKeyRepository,
    private readonly audit: AuditRepository,
    private readonly store: StateStore,
    private readonly clock: Clock,
    private readonly notice: BootstrapKeyNotice = new BootstrapKeyNotice(),
  ) {
    if (config.adminApiKey) this.adminHash = Buffer.from(hashApiKey(config.adminApiKey), 'hex');
  }

  async onModuleInit(): Promise<void> {
    try {
      this.unsubscribe = await this.store.subscribe(API_KEY_REVOKED_CHANNEL, (message) => {
        const keyId = parseRevocation(message);
        if (keyId) this.forget(keyId);
      });
    } catch (err) {
      this.logger.warn(
        `cannot subscribe to ${API_KEY_REVOKED_CHANNEL}: revoked keys reach this replica within ${CACHE_TTL_MS / 1000} s only (${(err as Error).message})`,
      );
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.unsubscribe?.().catch(() => undefined);
  }

  /** Drops a key from this replica's lookup cache (the next request asks PostgreSQL). */
  forget(keyId: string): void {
    this.generation++;
    this.known.deleteWhere((principal) => principal.keyId === keyId);
  }

  /** After a revocation is committed: forgets the key here and tells every other replica. */
  async announceRevocation(keyId: string): Promise<void> {
    this.forget(keyId);
    try {
      await this.store.publish(API_KEY_REVOKED_CHANNEL, JSON.stringify({ key_id: keyId }));
    } catch (err) {
      this.logger.warn(
        `could not announce the revocation of key ${keyId}: other replicas drop it within ${CACHE_TTL_MS / 1000} s (${(err as Error).message})`,
      );
    }
  }

  /** The principal a presented key stands for, or null when it is not a valid key. */
  async authenticate(presented: string): Promise<Principal | null> {
    const hash = hashApiKey(presented);
    if (this.adminHash && timingSafeEqual(Buffer.from(hash, 'hex'), this.adminHash)) {
      return ADMIN_PRINCIPAL;
    }
    const now = this.clock.now().getTime();
    const cached = this.known.get(hash, now);
    if (cached) return cached;
    if (this.misses.get(hash, now)) return null;
    const generation = this.generation;
    const record = await this.keys.findActiveByHash(hash);
    const principal = record
      ? new Principal(record.id, record.name, new Set(record.permissions), record.strategies)
      : null;
    // A revocation announced while PostgreSQL was asked may be newer than the answer: use it once, do not keep it.
    if (generation === this.generation) {
      if (principal) this.known.set(hash, principal, now + CACHE_TTL_MS);
      else this.misses.set(hash, true, now + CACHE_TTL_MS);
    }
    if (record) {
      // Once per cache period per replica at most; a failure costs only the timestamp.
      this.keys.touchLastUsed(record.id, CACHE_TTL_MS / 1000).catch(() => undefined);
    }
    return principal;
  }

  /**
   * Without ADMIN_API_KEY and without any stored key nobody could call the
   * gateway: outside production a bootstrap admin key is generated, stored
   * hashed, shown once after the "listening" line and written to a 0600 file (bootstrap-key.ts); in production the start is refused.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (this.config.adminApiKey) return;
    const generated = await this.keys.withBootstrapLock(async (tx) => {
      if ((await this.keys.countActive(tx)) > 0) return null;
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
        tx,
      );
      await this.audit.append(
        {
          action: 'api_key.created',
          actor: 'system',
          details: { key_id: record.id, name: record.name, reason: 'bootstrap: no ADMIN_API_KEY and no stored keys' },
        },
        tx,
      );
      return key;
    });
    if (generated) {
      // Shown once after the "listening" line (main.ts), never in the log; kept in a 0600 file.
      this.notice.key = generated;
      try {
        writeBootstrapKeyFile(this.config.bootstrapKeyFile, generated, this.clock.now());
        this.notice.file = this.config.bootstrapKeyFile;
      } catch (err) {
        this.logger.warn(`could not write ${this.config.bootstrapKeyFile}: ${(err as Error).message}`);
      }
      this.logger.warn(
        `generated a bootstrap admin API key: shown once the gateway listens${this.notice.file ? ` and saved to ${this.notice.file}` : ''}`,
      );
    }
  }
}

function parseRevocation(message: string): string | null {
  try {
    const m = JSON.parse(message) as { key_id?: unknown };
    return typeof m.key_id === 'string' ? m.key_id : null;
  } catch {
    return null;
  }
}

/** The ADMIN_API_KEY principal: not a stored key, so it cannot be listed or revoked through the API. */
export const ADMIN_KEY_ID = 'admin';
const ADMIN_PRINCIPAL = new Principal(ADMIN_KEY_ID, 'admin', new Set(PERMISSIONS), ['*']);
