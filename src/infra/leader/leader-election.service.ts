/**
 * Leader election for singleton jobs (reconciliation, status polling, the
 * trade-stream consumer): the replica whose PostgreSQL session holds a
 * session-level advisory lock is the leader, for as long as that session lives.
 *
 * Invariants
 * - Leader only while our own session holds the lock: isLeader() turns true
 *   only after pg_try_advisory_lock returned true on the current connection,
 *   and false the moment that connection errors, ends, misses a heartbeat, or
 *   the service stops.
 * - The lock is taken on a dedicated pg Client, never a pooled connection: a
 *   session lock lives exactly as long as its session, and a pool would lend
 *   that session to other work and keep it after we think we let go.
 * - The lock is taken at most once per session (advisory locks are re-entrant
 *   per session): only while not leader, and a session we lost leadership on
 *   is always closed, never reused.
 * - Every wait on the database is bounded (connect, queries, unlock, close),
 *   so neither the loop nor shutdown hangs when PostgreSQL is gone.
 *
 * Safety notes
 * - Leadership is a lease seen from one side. Between two heartbeats the
 *   server may already have dropped our session and another replica taken the
 *   lock; a process that freezes (GC pause, SIGSTOP) still believes it leads
 *   when it wakes. Jobs must therefore be idempotent, and writes that matter
 *   must be guarded in the database (unique keys, state checks), never by
 *   isLeader() alone: leadership can change between a check and a write.
 * - A network partition can leave the lock held by a dead session until
 *   PostgreSQL notices. Bounded here by idle_session_timeout (a live leader
 *   queries every interval, so only a dead or frozen one goes idle), by server
 *   TCP keepalives (tcp_keepalives_*) and by keepAlive on our socket.
 *   idle_in_transaction_session_timeout is set too, although this session never
 *   opens a transaction. Because sessionIdleTimeoutMs > intervalMs + timeoutMs,
 *   a leader cut off from the server steps down (failed heartbeat) before the
 *   server frees its lock for someone else. Needs PostgreSQL 14+.
 */
import { randomBytes } from 'node:crypto';
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  Optional,
} from '@nestjs/common';
import { Client, ClientConfig, QueryResultRow } from 'pg';
import { DataSource } from 'typeorm';
import { Clock } from '../clock/clock';
import { Scheduler, SystemScheduler, TaskHandle } from '../clock/scheduler';
import {
  LEADER_ELECTION_OPTIONS,
  LeaderElectionOptions,
  ResolvedLeaderElectionOptions,
  resolveLeaderElectionOptions,
} from './leader-election.options';

type Callback = () => void | Promise<void>;

/** Two intervals: every other replica tries the lock at least once before a replica that just lost it. */
const LOST_LEADERSHIP_COOLDOWN_TICKS = 2;

@Injectable()
export class LeaderElection implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** Names this replica in logs and health output, and in pg_stat_activity.application_name. */
  readonly instanceId: string;

  private readonly logger = new Logger('LeaderElection');
  private readonly opts: ResolvedLeaderElectionOptions;
  private readonly elected = new Set<Callback>();
  private readonly demoted = new Set<Callback>();
  /** whenLeader jobs still running: shutdown lets them finish (bounded) before releasing the lock. */
  private readonly running = new Set<Promise<unknown>>();
  private readonly closing = new WeakSet<Client>();

  private client?: Client;
  private pid: number | null = null;
  private leader = false;
  private since: Date | null = null;
  /** Aborted when the current term of leadership ends. */
  private term?: AbortController;
  private timer?: TaskHandle;
  private tickInFlight?: Promise<void>;
  private started = false;
  private stopped = false;
  private stopping?: Promise<void>;
  private lastFailure?: string;
  /** Ticks to sit out before trying the lock again after losing leadership involuntarily. */
  private cooldownTicks = 0;

  constructor(
    private readonly ds: DataSource,
    private readonly clock: Clock,
    @Optional() @Inject(LEADER_ELECTION_OPTIONS) options: LeaderElectionOptions = {},
    @Optional() private readonly scheduler: Scheduler = new SystemScheduler(),
  ) {
    this.opts = resolveLeaderElectionOptions(options);
    this.instanceId = options.instanceId ?? randomBytes(4).toString('hex');
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** When this replica became leader, or null while it is not. */
  leaderSince(): Date | null {
    return this.since;
  }

  /** The PostgreSQL backend pid of the dedicated session, while connected (for health and tests). */
  backendPid(): number | null {
    return this.pid;
  }

  /**
   * Runs cb on every election of this replica. If it already leads, cb runs once now, so a job that subscribes
   * late still starts. Callback errors are logged, not fatal. Returns an unsubscribe function.
   */
  onElected(cb: Callback): () => void {
    this.elected.add(cb);
    if (this.leader) void this.fire([cb], 'onElected');
    return () => void this.elected.delete(cb);
  }

  /** Runs cb whenever this replica stops being leader (lost session, failed heartbeat, shutdown). */
  onDemoted(cb: Callback): () => void {
    this.demoted.add(cb);
    return () => void this.demoted.delete(cb);
  }

  /**
   * Runs fn only if this replica leads now; otherwise returns undefined without calling it. fn gets a signal
   * that aborts if leadership is lost while it runs; a job that finishes anyway has its result returned (and
   * a warning logged), which is why jobs must be idempotent.
   */
  async whenLeader<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
    const term = this.term;
    if (!this.leader || !term) return undefined;
    const run = Promise.resolve().then(() => fn(term.signal));
    this.running.add(run);
    try {
      return await run;
    } finally {
      this.running.delete(run);
      // At shutdown the lock stays held until running jobs drain, so finishing then is not a lost lease.
      if (term.signal.aborted && !this.stopped) {
        this.logger.warn({ instance_id: this.instanceId }, 'a leader-only job finished after leadership was lost');
      }
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /** Starts the election loop; resolves after the first attempt, so a lone replica leads once the app is up. */
  async start(): Promise<void> {
    if (this.started || this.stopped) return;
    this.started = true;
    await this.runTick();
  }

  /** Steps down (onDemoted, running jobs drain), releases the lock and closes the session. Bounded; idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    // A tick is bounded by its own timeouts; a tick finishing after this point cannot promote (stopped).
    if (this.tickInFlight)
      await within(this.scheduler, this.tickInFlight, this.opts.drainTimeoutMs).catch(() => undefined);
    const wasLeader = this.leader;
    const demoted = this.demote('shutting down');
    await within(this.scheduler, Promise.allSettled([demoted, ...this.running]), this.opts.drainTimeoutMs).catch(() =>
      this.logger.warn(
        { instance_id: this.instanceId },
        'leader-only work still running at shutdown; releasing anyway',
      ),
    );
    const client = this.client;
    this.client = undefined;
    this.pid = null;
    if (!client) return;
    if (wasLeader) {
      // Closing the session frees the lock too; unlocking first frees it even if the goodbye is slow to arrive.
      await this.query(client, 'SELECT pg_advisory_unlock($1)', [this.opts.lockKey]).catch(() => undefined);
    }
    await this.close(client);
  }

  private runTick(): Promise<void> {
    const tick = this.tick().finally(() => {
      this.tickInFlight = undefined;
      this.schedule();
    });
    this.tickInFlight = tick;
    return tick;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.scheduler.after(this.opts.intervalMs, () => this.runTick(), { name: 'leader-election' });
  }

  private async tick(): Promise<void> {
    let client = this.client;
    try {
      client ??= await this.connect();
      if (!client) return;
      if (this.leader) {
        await this.query(client, 'SELECT 1');
      } else if (this.cooldownTicks > 0) {
        this.cooldownTicks--;
      } else {
        const [row] = await this.query<{ locked: boolean }>(client, 'SELECT pg_try_advisory_lock($1) AS locked', [
          this.opts.lockKey,
        ]);
        // Lost or stopping meanwhile: a lock we may have got goes with the session, which is closed.
        if (row?.locked && this.current(client)) this.promote();
      }
      if (this.lastFailure) this.logger.log({ instance_id: this.instanceId }, 'leader election: database reachable');
      this.lastFailure = undefined;
    } catch (err) {
      const reason = (err as Error).message;
      if (reason !== this.lastFailure) {
        this.logger.warn({ instance_id: this.instanceId, err: reason }, 'leader election: database check failed');
      }
      this.lastFailure = reason;
      if (client) this.lost(client, `database check failed: ${reason}`);
    }
  }

  private async connect(): Promise<Client | undefined> {
    const base = connectionConfig(this.ds);
    const client = new Client({
      ...base,
      application_name: `${base.application_name ?? 'execution-gateway'}:leader:${this.instanceId}`.slice(0, 63),
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: this.opts.timeoutMs,
      statement_timeout: this.opts.timeoutMs,
    });
    // Without an 'error' listener a dropped connection would crash the process.
    client.on('error', (err) => this.lost(client, `connection error: ${err.message}`));
    client.on('end', () => this.lost(client, 'connection ended'));
    this.client = client;
    let pid: number | undefined;
    try {
      await within(this.scheduler, client.connect(), this.opts.timeoutMs);
      [{ pid }] = await this.query<{ pid: number }>(
        client,
        `SELECT pg_backend_pid() AS pid,
              set_config('idle_session_timeout', $1, false),
              set_config('idle_in_transaction_session_timeout', $1, false),
              set_config('tcp_keepalives_idle', '10', false),
              set_config('tcp_keepalives_interval', '5', false),
              set_config('tcp_keepalives_count', '3', false)`,
        [String(this.opts.sessionIdleTimeoutMs)],
      );
    } catch (err) {
      this.lost(client, `connect failed: ${(err as Error).message}`);
      throw err;
    }
    if (!this.current(client)) {
      if (this.client === client) this.client = undefined;
      await this.close(client);
      return undefined;
    }
    this.pid = pid ?? null;
    return client;
  }

  private current(client: Client): boolean {
    return this.client === client && !this.stopped;
  }

  /** The session is gone or untrustworthy: step down at once, close it, reconnect on the next tick. */
  private lost(client: Client, reason: string): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.pid = null;
    // A leader whose session was killed or failed lets the others try first: the fault may be this replica's
    // (or an operator moving leadership away from it); it still takes the lock back if nobody else does.
    if (this.leader) this.cooldownTicks = LOST_LEADERSHIP_COOLDOWN_TICKS;
    void this.demote(reason);
    void this.close(client);
  }

  private promote(): void {
    this.leader = true;
    this.since = this.clock.now();
    this.term = new AbortController();
    this.logger.log(
      { instance_id: this.instanceId, lock_key: this.opts.lockKey, backend_pid: this.pid },
      'elected leader for singleton jobs',
    );
    void this.fire([...this.elected], 'onElected');
  }

  private demote(reason: string): Promise<void> {
    if (!this.leader) return Promise.resolve();
    this.leader = false;
    this.since = null;
    this.term?.abort(new Error(`leadership lost: ${reason}`));
    this.term = undefined;
    this.logger.warn({ instance_id: this.instanceId, reason }, 'no longer leader for singleton jobs');
    return this.fire([...this.demoted], 'onDemoted');
  }

  private async fire(callbacks: Callback[], name: string): Promise<void> {
    await Promise.all(
      callbacks.map(async (cb) => {
        try {
          await cb();
        } catch (err) {
          this.logger.error({ instance_id: this.instanceId, err }, `${name} callback failed`);
        }
      }),
    );
  }

  private async query<R extends QueryResultRow>(client: Client, text: string, values?: unknown[]): Promise<R[]> {
    const result = await within(this.scheduler, client.query<R>(text, values), this.opts.timeoutMs);
    return result.rows;
  }

  private async close(client: Client): Promise<void> {
    if (this.closing.has(client)) return;
    this.closing.add(client);
    try {
      await within(this.scheduler, client.end(), this.opts.timeoutMs);
    } catch {
      // An unreachable server never acknowledges the goodbye: drop the socket.
      client.connection.stream.destroy();
    }
  }
}

/** The DataSource's own connection settings (the primary, when replicated), for a pg Client of our own. */
function connectionConfig(ds: DataSource): ClientConfig {
  if (ds.options.type !== 'postgres') throw new Error('leader election needs a PostgreSQL DataSource');
  const o = ds.options.replication?.master ?? ds.options;
  const config: ClientConfig = {
    connectionString: o.url,
    host: o.host,
    port: o.port,
    user: o.username,
    password: o.password,
    database: o.database,
    ssl: o.ssl as ClientConfig['ssl'],
    application_name: o.applicationName ?? ds.options.applicationName,
  };
  // pg lets explicit fields override the connection string: drop the unset ones.
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) as ClientConfig;
}

async function within<T>(scheduler: Scheduler, promise: Promise<T>, ms: number): Promise<T> {
  let timer: TaskHandle | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = scheduler.after(ms, () => reject(new Error(`timed out after ${ms} ms`)));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    timer?.cancel();
  }
}
