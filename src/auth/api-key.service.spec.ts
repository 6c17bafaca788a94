import type { AuditRepository } from '../audit/audit.repository';
import { AppConfig, loadConfig } from '../config/app-config';
import { ManualClock } from '../infra/clock/clock';
import { MemoryStateStore } from '../infra/state/memory-state-store';
import { ApiKeyRecord, ApiKeyRepository } from './api-key.repository';
import { API_KEY_SHAPE } from '../infra/logging/redact-query';
import {
  API_KEY_REVOKED_CHANNEL,
  ApiKeyService,
  CACHE_MAX_KEYS,
  CACHE_MAX_MISSES,
  generateApiKey,
  hashApiKey,
} from './api-key.service';

const KEY = 'eg_some-key-for-tests';

function record(id: string): ApiKeyRecord {
  return {
    id,
    name: `key-${id}`,
    keyPrefix: KEY.slice(0, 10),
    permissions: ['VIEW_ORDERS'],
    strategies: ['*'],
    createdAt: new Date(),
    createdBy: 'test',
    revokedAt: null,
    revokedBy: null,
    lastUsedAt: null,
  };
}

/** A repository whose one key can be revoked, counting lookups. */
function fakeRepo() {
  const state = { active: true, lookups: 0, touched: 0 };
  let pending: Array<() => void> = [];
  const repo = {
    findActiveByHash: jest.fn(async (hash: string) => {
      state.lookups++;
      const answer = state.active && hash === hashApiKey(KEY) ? record('k1') : null;
      if (pendingMode.on) await new Promise<void>((r) => pending.push(r));
      return answer;
    }),
    touchLastUsed: jest.fn(async () => void state.touched++),
  };
  const pendingMode = { on: false };
  const release = () => {
    const p = pending;
    pending = [];
    p.forEach((r) => r());
  };
  return { repo: repo as unknown as ApiKeyRepository, state, pendingMode, release };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('ApiKeyService lookup cache and revocation', () => {
  let config: AppConfig;
  let store: MemoryStateStore;
  let clock: ManualClock;
  beforeEach(() => {
    config = loadConfig({ ADMIN_API_KEY: 'admin-key-0123456789abcdef' });
    store = new MemoryStateStore();
    clock = new ManualClock();
  });

  it('trusts a cached lookup for 10 s of the clock, then asks the repository again', async () => {
    const { repo, state } = fakeRepo();
    const svc = new ApiKeyService(config, repo, {} as AuditRepository, store, clock);
    await svc.authenticate(KEY);
    clock.advance(9_999);
    await svc.authenticate(KEY);
    expect(state.lookups).toBe(1);
    clock.advance(1);
    await svc.authenticate(KEY);
    expect(state.lookups).toBe(2);
  });

  it('caches a lookup: a second call does not ask the repository', async () => {
    const { repo, state } = fakeRepo();
    const svc = new ApiKeyService(config, repo, {} as AuditRepository, store, clock);
    expect((await svc.authenticate(KEY))?.keyId).toBe('k1');
    expect((await svc.authenticate(KEY))?.keyId).toBe('k1');
    expect(state.lookups).toBe(1);
    expect(state.touched).toBe(1);
  });

  it('a revocation announced by another replica drops the key from the cache at once', async () => {
    const { repo, state } = fakeRepo();
    const svc = new ApiKeyService(config, repo, {} as AuditRepository, store, clock);
    await svc.onModuleInit();
    expect(await svc.authenticate(KEY)).not.toBeNull();
    state.active = false;
    expect(await svc.authenticate(KEY)).not.toBeNull(); // still cached
    await store.publish(API_KEY_REVOKED_CHANNEL, JSON.stringify({ key_id: 'k1' }));
    await tick();
    expect(await svc.authenticate(KEY)).toBeNull();
    await svc.onModuleDestroy();
  });

  it('announceRevocation forgets locally before answering and publishes the key id', async () => {
    const { repo, state } = fakeRepo();
    const svc = new ApiKeyService(config, repo, {} as AuditRepository, store, clock);
    const heard: string[] = [];
    await store.subscribe(API_KEY_REVOKED_CHANNEL, (m) => heard.push(m));
    await svc.authenticate(KEY);
    state.active = false;
    await svc.announceRevocation('k1');
    expect(await svc.authenticate(KEY)).toBeNull();
    await tick();
    expect(heard).toEqual([JSON.stringify({ key_id: 'k1' })]);
  });

  it('a lookup that raced a revocation is answered but not cached', async () => {
    const { repo, state, pendingMode, release } = fakeRepo();
    const svc = new ApiKeyService(config, repo, {} as AuditRepository, store, clock);
    pendingMode.on = true;
    const inFlight = svc.authenticate(KEY);
    await tick();
    svc.forget('k1');
    state.active = false;
    release();
    expect(await inFlight).not.toBeNull();
    pendingMode.on = false;
    expect(await svc.authenticate(KEY)).toBeNull();
    expect(state.lookups).toBe(2);
  });

  it('ignores malformed revocation messages', async () => {
    const { repo, state } = fakeRepo();
    const svc = new ApiKeyService(config, repo, {} as AuditRepository, store, clock);
    await svc.onModuleInit();
    await svc.authenticate(KEY);
    for (const m of ['not json', '{}', '{"key_id":5}']) await store.publish(API_KEY_REVOKED_CHANNEL, m);
    await tick();
    await svc.authenticate(KEY);
    expect(state.lookups).toBe(1);
  });

  it('the ADMIN_API_KEY authenticates without a lookup', async () => {
    const { repo, state } = fakeRepo();
    const svc = new ApiKeyService(config, repo, {} as AuditRepository, store, clock);
    expect((await svc.authenticate('admin-key-0123456789abcdef'))?.keyId).toBe('admin');
    expect(state.lookups).toBe(0);
  });

  it('a flood of unknown keys never evicts a key in use (docs/security.md#authentication-throttling)', async () => {
    const { repo, state } = fakeRepo();
    const svc = new ApiKeyService(config, repo, {} as AuditRepository, store, clock);
    expect((await svc.authenticate(KEY))?.keyId).toBe('k1');
    for (let i = 0; i < CACHE_MAX_KEYS + 10; i++) expect(await svc.authenticate(`eg_unknown-${i}`)).toBeNull();
    const lookups = state.lookups;
    expect((await svc.authenticate(KEY))?.keyId).toBe('k1');
    expect(state.lookups).toBe(lookups);
  });

  it('misses are cached too, but only the most recent ones', async () => {
    const { repo, state } = fakeRepo();
    const svc = new ApiKeyService(config, repo, {} as AuditRepository, store, clock);
    await svc.authenticate('eg_unknown-first');
    await svc.authenticate('eg_unknown-first');
    expect(state.lookups).toBe(1);
    for (let i = 0; i < CACHE_MAX_MISSES; i++) await svc.authenticate(`eg_unknown-${i}`);
    const lookups = state.lookups;
    await svc.authenticate('eg_unknown-first');
    expect(state.lookups).toBe(lookups + 1);
  });
});

describe('generateApiKey', () => {
  it('makes keys the log redaction recognizes (src/infra/logging/redact-query.ts)', () => {
    for (let i = 0; i < 50; i++) expect(generateApiKey()).toMatch(new RegExp(`^${API_KEY_SHAPE.source}$`));
  });
});
