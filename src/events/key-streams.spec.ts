import { Logger } from '@nestjs/common';
import { API_KEY_REVOKED_CHANNEL } from '../auth/api-key.service';
import { Principal } from '../auth/permission';
import { AppConfig } from '../config/app-config';
import { ManualClock } from '../infra/clock/clock';
import { ManualScheduler } from '../infra/clock/manual-scheduler';
import { MemoryStateStore } from '../infra/state/memory-state-store';
import { KEY_RECHECK_MS, KeyStreamEndReason, KeyStreamRegistry, KeyVerifier, STREAM_LEASE_TTL_MS } from './key-streams';

const viewer = (id: string) => new Principal(id, id, new Set(['VIEW_ORDERS']), ['*']);

class FakeKeys implements KeyVerifier {
  revoked = new Set<string>();
  down = false;
  forgotten: string[] = [];
  forget(keyId: string): void {
    this.forgotten.push(keyId);
  }
  async authenticate(presented: string): Promise<Principal | null> {
    if (this.down) throw new Error('db down');
    return this.revoked.has(presented) ? null : viewer(presented);
  }
}

/** Ends once and releases its slot, as a session does. */
class FakeStream {
  ended: KeyStreamEndReason[] = [];
  onEnd: () => void = () => undefined;
  end(reason: KeyStreamEndReason): void {
    if (this.ended.length) return;
    this.ended.push(reason);
    this.onEnd();
  }
}

const tick = () => new Promise((r) => setImmediate(r));

function setup(maxPerKey = 2) {
  const clock = new ManualClock();
  const scheduler = new ManualScheduler(clock);
  const store = new MemoryStateStore(clock);
  const keys = new FakeKeys();
  const registry = new KeyStreamRegistry({ eventStreams: { maxPerKey } } as AppConfig, store, keys, scheduler);
  async function open(keyId: string) {
    const admission = await registry.admit(viewer(keyId), keyId);
    const stream = new FakeStream();
    stream.onEnd = () => void admission.release();
    admission.attach(stream);
    return { admission, stream };
  }
  return { clock, scheduler, store, keys, registry, open };
}

describe('KeyStreamRegistry', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('admits up to the limit per key, refuses one more with 429 TOO_MANY_STREAMS, and frees a slot on release', async () => {
    const { registry, open } = setup(2);
    const first = await open('k1');
    await open('k1');
    await expect(registry.admit(viewer('k1'), 'k1')).rejects.toMatchObject({
      kind: 'rate_limited',
      code: 'TOO_MANY_STREAMS',
      details: { limit: 2 },
    });
    await open('k2');
    await first.admission.release();
    await first.admission.release();
    await open('k1');
    expect(registry.openStreams).toBe(3);
    await registry.onModuleDestroy();
  });

  it('the limit holds across replicas sharing the store', async () => {
    const a = setup(2);
    const b = new KeyStreamRegistry({ eventStreams: { maxPerKey: 2 } } as AppConfig, a.store, a.keys, a.scheduler);
    await a.open('k1');
    await b.admit(viewer('k1'), 'k1');
    await expect(b.admit(viewer('k1'), 'k1')).rejects.toMatchObject({ code: 'TOO_MANY_STREAMS' });
    await a.registry.onModuleDestroy();
    await b.onModuleDestroy();
  });

  it('a revocation announcement ends the key streams at once, after asking PostgreSQL; a forged one ends nothing', async () => {
    const { store, keys, open, registry } = setup();
    const s1 = await open('k1');
    const s2 = await open('k1');
    const other = await open('k2');
    // Not revoked in PostgreSQL: the message alone changes nothing.
    await store.publish(API_KEY_REVOKED_CHANNEL, JSON.stringify({ key_id: 'k1' }));
    await tick();
    await tick();
    expect(s1.stream.ended).toEqual([]);
    keys.revoked.add('k1');
    await store.publish(API_KEY_REVOKED_CHANNEL, JSON.stringify({ key_id: 'k1' }));
    await tick();
    await tick();
    expect(s1.stream.ended).toEqual(['key_revoked']);
    expect(s2.stream.ended).toEqual(['key_revoked']);
    expect(other.stream.ended).toEqual([]);
    expect(keys.forgotten).toContain('k1');
    await registry.onModuleDestroy();
  });

  it('a missed announcement: the periodic re-check ends the stream within one interval', async () => {
    const { scheduler, keys, open, registry } = setup();
    const s = await open('k1');
    keys.revoked.add('k1');
    await scheduler.advance(KEY_RECHECK_MS - 1);
    expect(s.stream.ended).toEqual([]);
    await scheduler.advance(1);
    expect(s.stream.ended).toEqual(['key_revoked']);
    await registry.onModuleDestroy();
  });

  it('a key that cannot be confirmed twice running is not trusted', async () => {
    const { scheduler, keys, open, registry } = setup();
    const s = await open('k1');
    keys.down = true;
    await scheduler.advance(KEY_RECHECK_MS);
    expect(s.stream.ended).toEqual([]);
    await scheduler.advance(KEY_RECHECK_MS);
    expect(s.stream.ended).toEqual(['key_unverified']);
    await registry.onModuleDestroy();
  });

  it('slots are renewed while streams run, and expire when their replica is gone', async () => {
    const { scheduler, clock, store, open, registry } = setup(1);
    const s = await open('k1');
    for (let i = 0; i < 6; i++) await scheduler.advance(KEY_RECHECK_MS);
    expect(s.stream.ended).toEqual([]);
    await expect(registry.admit(viewer('k1'), 'k1')).rejects.toMatchObject({ code: 'TOO_MANY_STREAMS' });
    // A replica that died renews nothing: its slot frees itself.
    const other = new KeyStreamRegistry(
      { eventStreams: { maxPerKey: 1 } } as AppConfig,
      store,
      new FakeKeys(),
      scheduler,
    );
    await registry.onModuleDestroy();
    clock.advance(STREAM_LEASE_TTL_MS + 1);
    await expect(other.admit(viewer('k1'), 'k1')).resolves.toBeDefined();
    await other.onModuleDestroy();
  });

  it('a slot lost to another stream while the store was away ends the stream over the limit', async () => {
    const { scheduler, clock, store, open, registry } = setup(1);
    const s = await open('k1');
    clock.advance(STREAM_LEASE_TTL_MS + 1);
    await store.set('events:streams:k1:0', 'someone-else', STREAM_LEASE_TTL_MS);
    await scheduler.advance(KEY_RECHECK_MS);
    expect(s.stream.ended).toEqual(['lease_lost']);
    await registry.onModuleDestroy();
  });
});
