import { createServer, connect, Server, Socket } from 'node:net';
import { Global, INestApplication, Logger, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { ClockModule } from '../../../src/infra/clock/clock.module';
import { SystemClock } from '../../../src/infra/clock/clock';
import { createDataSource } from '../../../src/infra/database/data-source';
import { LeaderElectionOptions } from '../../../src/infra/leader/leader-election.options';
import { LeaderElection } from '../../../src/infra/leader/leader-election.service';
import { LeaderModule } from '../../../src/infra/leader/leader.module';
import { createTestDatabase, TestDatabase, withAdmin } from '../../support/database';

/**
 * LeaderElection against real PostgreSQL: one leader among replicas, prompt
 * hand-over when the leader stops, loses its session or is cut off, and
 * callbacks once per transition.
 */
describe('leader election (e2e)', () => {
  const INTERVAL = 100;
  const LOCK_KEY = 91_001;
  let database: TestDatabase;
  let ds: DataSource;
  const live: LeaderElection[] = [];

  beforeAll(async () => {
    Logger.overrideLogger(false);
    database = await createTestDatabase();
    // Only its connection options are read; it never connects.
    ds = createDataSource({ url: database.url });
  });
  afterEach(async () => {
    await Promise.all(live.splice(0).map((e) => e.stop()));
  });
  afterAll(async () => {
    await database?.drop();
  });

  function replica(instanceId: string, opts: LeaderElectionOptions = {}, source: DataSource = ds): LeaderElection {
    const e = new LeaderElection(source, new SystemClock(), {
      intervalMs: INTERVAL,
      lockKey: LOCK_KEY,
      instanceId,
      ...opts,
    });
    live.push(e);
    return e;
  }

  /** Counts transitions and their order. */
  function watch(e: LeaderElection) {
    const seen = { elected: 0, demoted: 0, events: [] as string[] };
    e.onElected(() => {
      seen.elected++;
      seen.events.push(`${e.instanceId}:elected`);
    });
    e.onDemoted(() => {
      seen.demoted++;
      seen.events.push(`${e.instanceId}:demoted`);
    });
    return seen;
  }

  async function waitFor(what: string, predicate: () => boolean, timeoutMs = 3_000): Promise<number> {
    const started = Date.now();
    while (!predicate()) {
      if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
      await sleep(5);
    }
    return Date.now() - started;
  }

  const leaders = (es: LeaderElection[]) => es.filter((e) => e.isLeader());

  /** Backend pids holding our advisory lock in the test database. */
  async function lockHolders(): Promise<number[]> {
    return withAdmin(async (c) => {
      const r = await c.query<{ pid: number }>(
        `SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
          WHERE l.locktype = 'advisory' AND l.granted AND d.datname = $1 AND l.objid = $2`,
        [database.name, LOCK_KEY],
      );
      return r.rows.map((row) => row.pid);
    });
  }

  it('elects exactly one of two replicas, which holds the lock on its own named session', async () => {
    const a = replica('a');
    const b = replica('b');
    await Promise.all([a.start(), b.start()]);
    expect(leaders([a, b])).toHaveLength(1);
    const [leader] = leaders([a, b]);
    const follower = leader === a ? b : a;

    expect(leader.leaderSince()).toBeInstanceOf(Date);
    expect(follower.leaderSince()).toBeNull();
    expect(await lockHolders()).toEqual([leader.backendPid()]);
    const sessions = await withAdmin((c) =>
      c.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [
        `execution-gateway:leader:${leader.instanceId}`,
      ]),
    );
    expect(sessions.rows.map((r) => r.pid)).toEqual([leader.backendPid()]);

    // It stays that way over several intervals.
    for (let i = 0; i < 5; i++) {
      await sleep(INTERVAL);
      expect(leader.isLeader()).toBe(true);
      expect(follower.isLeader()).toBe(false);
    }
  });

  it('hands over within about two intervals when the leader shuts down; callbacks fire once per transition', async () => {
    const a = replica('a');
    await a.start();
    const b = replica('b');
    await b.start();
    const seenA = watch(a);
    const seenB = watch(b);
    expect(a.isLeader()).toBe(true);
    expect(seenA.elected).toBe(1); // a late subscriber to a sitting leader is told once

    await a.stop();
    expect(a.isLeader()).toBe(false);
    expect(a.leaderSince()).toBeNull();
    const took = await waitFor('b to take over', () => b.isLeader());
    expect(took).toBeLessThanOrEqual(2 * INTERVAL + 50);
    expect(await lockHolders()).toEqual([b.backendPid()]);

    await sleep(3 * INTERVAL);
    expect(seenA).toMatchObject({ elected: 1, demoted: 1 });
    expect(seenB).toMatchObject({ elected: 1, demoted: 0 });
    expect(a.isLeader()).toBe(false);
  });

  it('steps down at once when its session is killed from outside, and the other replica takes over', async () => {
    const a = replica('a');
    await a.start();
    const b = replica('b');
    await b.start();
    const seenA = watch(a);
    const seenB = watch(b);
    const killedPid = a.backendPid();
    expect(a.isLeader()).toBe(true);
    expect(killedPid).toEqual(expect.any(Number));

    await withAdmin((c) => c.query('SELECT pg_terminate_backend($1)', [killedPid]));
    const noticed = await waitFor('a to step down', () => !a.isLeader());
    expect(noticed).toBeLessThan(INTERVAL + 50);
    await waitFor('b to take over', () => b.isLeader(), 3 * INTERVAL);

    // a reconnects on a new session, as a follower, and stays one.
    await waitFor('a to reconnect', () => a.backendPid() !== null && a.backendPid() !== killedPid);
    for (let i = 0; i < 5; i++) {
      await sleep(INTERVAL);
      expect(a.isLeader()).toBe(false);
      expect(b.isLeader()).toBe(true);
    }
    expect(await lockHolders()).toEqual([b.backendPid()]);
    expect(seenA).toMatchObject({ elected: 1, demoted: 1 });
    expect(seenB).toMatchObject({ elected: 1, demoted: 0 });
  });

  it('whenLeader runs only on the leader, and aborts its signal when leadership is lost', async () => {
    const a = replica('a');
    await a.start();
    const b = replica('b');
    await b.start();
    let ranOnFollower = false;
    expect(await a.whenLeader(async () => 42)).toBe(42);
    expect(
      await b.whenLeader(async () => {
        ranOnFollower = true;
        return 42;
      }),
    ).toBeUndefined();
    expect(ranOnFollower).toBe(false);
    await expect(a.whenLeader(async () => Promise.reject(new Error('job failed')))).rejects.toThrow('job failed');

    let aborted = false;
    const job = a.whenLeader(
      (signal) =>
        new Promise<string>((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve('stopped early');
          });
        }),
    );
    await withAdmin((c) => c.query('SELECT pg_terminate_backend($1)', [a.backendPid()]));
    expect(await job).toBe('stopped early');
    expect(aborted).toBe(true);
    expect(await a.whenLeader(async () => 'again')).toBeUndefined();
  });

  it('survives failing callbacks, and unsubscribing stops them', async () => {
    const a = replica('a');
    const calls: string[] = [];
    a.onElected(() => {
      throw new Error('boom');
    });
    a.onElected(async () => Promise.reject(new Error('async boom')));
    a.onElected(() => void calls.push('elected'));
    const off = a.onDemoted(() => void calls.push('demoted'));
    await a.start();
    expect(a.isLeader()).toBe(true);
    await sleep(INTERVAL * 2);
    expect(a.isLeader()).toBe(true);
    off();
    await a.stop();
    expect(calls).toEqual(['elected']);
  });

  it('keeps exactly one leader among five replicas at every sampled moment over a second', async () => {
    const es = ['r1', 'r2', 'r3', 'r4', 'r5'].map((id) => replica(id));
    await Promise.all(es.map((e) => e.start()));
    const first = leaders(es);
    expect(first).toHaveLength(1);
    const startedAt = Date.now();
    let samples = 0;
    while (Date.now() - startedAt < 1_000) {
      expect(leaders(es)).toEqual(first);
      samples++;
      await sleep(10);
    }
    expect(samples).toBeGreaterThan(50);
    expect(await lockHolders()).toEqual([first[0].backendPid()]);
  });

  it('a leader cut off from the database steps down before the server frees its lock for another', async () => {
    const proxy = await startProxy(new URL(database.url));
    try {
      const url = new URL(database.url);
      url.port = String(proxy.port);
      const viaProxy = createDataSource({ url: url.toString() });
      const a = replica('a', { timeoutMs: 300, sessionIdleTimeoutMs: 1_200 }, viaProxy);
      await a.start();
      const b = replica('b');
      await b.start();
      const order: string[] = [];
      a.onDemoted(() => void order.push('a demoted'));
      b.onElected(() => void order.push('b elected'));
      expect(a.isLeader()).toBe(true);

      proxy.cut();
      await waitFor('a to step down', () => !a.isLeader(), INTERVAL + 300 + 200);
      expect(b.isLeader()).toBe(false); // the dead session still holds the lock
      await waitFor('b to take over', () => b.isLeader(), 1_200 + 3 * INTERVAL + 500);
      expect(order).toEqual(['a demoted', 'b elected']);

      // Shutting down while the database is unreachable does not hang.
      const t0 = Date.now();
      await a.stop();
      expect(Date.now() - t0).toBeLessThan(1_000);
    } finally {
      proxy.close();
    }
  });

  it('does not hang starting or stopping when the database never answers', async () => {
    const silent = await startProxy(new URL(database.url));
    silent.cut();
    try {
      const url = new URL(database.url);
      url.port = String(silent.port);
      const a = replica('a', { timeoutMs: 300 }, createDataSource({ url: url.toString() }));
      const t0 = Date.now();
      await a.start();
      expect(a.isLeader()).toBe(false);
      await a.stop();
      expect(Date.now() - t0).toBeLessThan(1_000);
    } finally {
      silent.close();
    }
  });

  it('LeaderModule.forRoot wires it into an application: leads after init, lets go on close', async () => {
    @Global()
    @Module({ providers: [{ provide: DataSource, useValue: ds }], exports: [DataSource] })
    class FakeDatabaseModule {}

    const boot = async (): Promise<INestApplication> => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          FakeDatabaseModule,
          ClockModule.forRoot(),
          LeaderModule.forRoot({ intervalMs: INTERVAL, lockKey: LOCK_KEY }),
        ],
      }).compile();
      return moduleRef.createNestApplication({ logger: false }).init();
    };
    const first = await boot();
    const second = await boot();
    const e1 = first.get(LeaderElection);
    const e2 = second.get(LeaderElection);
    expect(e1.isLeader()).toBe(true);
    expect(e2.isLeader()).toBe(false);
    expect(e1.instanceId).not.toEqual(e2.instanceId);

    await first.close();
    await waitFor('the second app to take over', () => e2.isLeader(), 3 * INTERVAL);
    await second.close();
    expect(e2.isLeader()).toBe(false);
    expect(await lockHolders()).toEqual([]);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A TCP relay to PostgreSQL that can be cut: afterwards it forwards nothing
 * and closes nothing, in either direction, and new connections are accepted
 * but never answered, as in a network partition.
 */
async function startProxy(target: URL): Promise<{ port: number; cut(): void; close(): void }> {
  let cut = false;
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  };
  const server: Server = createServer((downstream) => {
    track(downstream);
    if (cut) return;
    const upstream = connect(Number(target.port || 5432), target.hostname);
    track(upstream);
    downstream.on('data', (d) => void (cut || upstream.write(d)));
    upstream.on('data', (d) => void (cut || downstream.write(d)));
    downstream.on('close', () => cut || upstream.destroy());
    upstream.on('close', () => cut || downstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    cut: () => void (cut = true),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
