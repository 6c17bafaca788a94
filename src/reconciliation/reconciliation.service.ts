/**
 * Runs reconciliation and answers the operator's controls.
 *
 * Scheduling (see domain/schedule.ts): every replica asks for a run when it
 * boots (after RECONCILIATION_STARTUP_DELAY_SECONDS); the leader performs
 * requested runs (coalesced), retries of failed runs with backoff, and a run
 * every RECONCILIATION_INTERVAL_SECONDS. POST /run from any replica is a
 * request the leader picks up at once (the state row is shared, and a Redis
 * message makes every replica read it again). A run holds a session advisory
 * lock from start to finish, so two replicas never reconcile at the same
 * time, even while leadership moves.
 */
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { ActorContext } from '../audit/audit-entry';
import { AuditRepository } from '../audit/audit.repository';
import { ConflictError, DomainError, NotFoundError } from '../common/domain-error';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Deadline, deadlineAfter, Scheduler, TaskHandle } from '../infra/clock/scheduler';
import { UnitOfWork } from '../infra/database/unit-of-work';
import { LeaderElection } from '../infra/leader/leader-election.service';
import { GateView } from './domain/gate';
import { FINDING_KINDS } from './domain/reconcile';
import { runDue } from './domain/schedule';
import { FindingRecord, FindingsRepository } from './persistence/findings.repository';
import { ReconciliationState, ReconciliationStateRepository } from './persistence/reconciliation-state.repository';
import { ReconciliationGateService } from './reconciliation-gate.service';
import { ReconciliationMetrics } from './reconciliation.metrics';
import { ReconcileUseCase, RunSummary } from './use-cases/reconcile.use-case';

/** Resolved findings stay listed this long (docs/reconciliation.md). */
const RESOLVED_LISTED_MS = 24 * 3600_000;
const FINDINGS_LIMIT = 500;
const TICK_MS = 250;
/** How long POST /run and POST /fills-backfill wait before answering 202 / 409. */
const WAIT_FOR_RUN_MS = 25_000;
const POLL_MS = 100;

export interface ReconciliationStatus {
  gate: GateView;
  gateOpenedBy: 'run' | 'force' | null;
  state: ReconciliationState;
  running: boolean;
  findings: FindingRecord[];
  openByKind: Record<string, number>;
}

export type RunOutcome = { done: true; status: ReconciliationStatus } | { done: false; request: number };

@Injectable()
export class ReconciliationService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Reconciliation');
  private timer?: TaskHandle;
  private bootTimer?: TaskHandle;
  private ticking = false;
  private stopped = false;
  private current?: Promise<unknown>;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly uow: UnitOfWork,
    private readonly repo: ReconciliationStateRepository,
    private readonly findings: FindingsRepository,
    private readonly gate: ReconciliationGateService,
    private readonly leader: LeaderElection,
    private readonly reconcile: ReconcileUseCase,
    private readonly audit: AuditRepository,
    private readonly metrics: ReconciliationMetrics,
    private readonly scheduler: Scheduler,
  ) {}

  onApplicationBootstrap(): void {
    this.bootTimer = this.scheduler.after(
      this.config.reconciliation.startupDelaySeconds * 1000,
      () => this.requestAtBoot(),
      { name: 'reconciliation-boot-request' },
    );
    this.timer = this.scheduler.every(TICK_MS, () => this.tick(), { name: 'reconciliation-tick' });
    this.unsubscribe.push(this.gate.onChange(() => void this.tick()));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.bootTimer?.cancel();
    this.timer?.cancel();
    for (const u of this.unsubscribe) u();
    await this.current?.catch(() => undefined);
  }

  /** The boot request, retried until the database takes it. */
  private async requestAtBoot(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.repo.requestRun();
        await this.gate.announce();
        return;
      } catch (err) {
        if (attempt === 0) this.logger.warn(`cannot request the startup reconciliation: ${(err as Error).message}`);
        await this.scheduler.sleep(Math.min(1000 * 2 ** attempt, 10_000));
      }
    }
  }

  /** On the leader: run when due. Never throws. */
  async tick(): Promise<void> {
    if (this.ticking || this.stopped || !this.leader.isLeader()) return;
    this.ticking = true;
    try {
      await this.leader.whenLeader(async () => {
        const s = this.gate.lastState();
        if (!s || s.lockHeld) return;
        const trigger = runDue(s, this.gate.dbNowMs(), this.config.reconciliationIntervalSeconds * 1000);
        if (!trigger) return;
        await this.runLocked('full', {});
      });
    } catch (err) {
      this.logger.error({ err, msg: 'reconciliation tick failed' });
    } finally {
      this.ticking = false;
    }
  }

  /**
   * One run under the lock. Returns null when another session holds it.
   * Records the outcome in the state row whatever happens.
   */
  private async runLocked(
    mode: 'full' | 'fills',
    opts: { since?: Date },
  ): Promise<{ ok: boolean; summary: RunSummary | null; error: string | null } | null> {
    const lock = await this.repo.tryLock();
    if (!lock) return null;
    const work = (async () => {
      const t0 = performance.now();
      let serving = 0;
      try {
        const fresh = await this.repo.readState();
        if (mode === 'full') {
          serving = (await this.repo.markStarted()).serving;
          await this.gate.announce();
        }
        try {
          const { summary, fillsCursor } = await this.reconcile.execute(mode, {
            since: opts.since,
            cursor: fresh.fillsCursor,
          });
          const ms = Math.round(performance.now() - t0);
          if (mode === 'full') {
            await this.repo.markFinished({
              serving,
              durationMs: ms,
              ok: true,
              error: null,
              summary: { ...summary },
              fillsCursor,
            });
            this.metrics.run(true, ms / 1000);
            this.logger.log({ msg: 'reconciliation run completed', duration_ms: ms, ...summary });
          } else {
            await this.repo.advanceFillsCursor(fillsCursor);
          }
          return { ok: true, summary, error: null };
        } catch (err) {
          const ms = Math.round(performance.now() - t0);
          const error = describe(err);
          if (mode === 'full') {
            await this.repo.markFinished({ serving, durationMs: ms, ok: false, error, summary: {}, fillsCursor: null });
            this.metrics.run(false, ms / 1000);
          }
          this.logger.error({ msg: 'reconciliation run failed', mode, error, duration_ms: ms });
          return { ok: false, summary: null, error };
        }
      } finally {
        await this.repo.unlock(lock).catch(() => undefined);
        await this.refreshOpenGauges().catch(() => undefined);
        await this.gate.announce();
      }
    })();
    this.current = work;
    return work;
  }

  private async refreshOpenGauges(): Promise<void> {
    const open = await this.findings.openFindings();
    const byKind: Record<string, number> = Object.fromEntries(FINDING_KINDS.map((k) => [k, 0]));
    for (const f of open) byKind[f.kind] += 1;
    this.metrics.openFindings(byKind);
  }

  // --- operator controls ----------------------------------------------------------

  /**
   * POST /run: a request the leader performs (coalesced with any other),
   * waited for up to 25 s; after that the caller is told it is requested.
   */
  async requestRun(): Promise<RunOutcome> {
    const request = await this.repo.requestRun();
    await this.gate.announce();
    void this.tick();
    const deadline = deadlineAfter(this.scheduler, WAIT_FOR_RUN_MS);
    try {
      while (!deadline.passed && !this.stopped) {
        const s = await this.repo.readState();
        if (s.served >= request) return { done: true, status: await this.status() };
        await this.scheduler.sleep(POLL_MS);
      }
    } finally {
      deadline.cancel();
    }
    return { done: false, request };
  }

  /** POST /fills-backfill: the fills pass alone, on this replica, under the run lock. */
  async backfill(since: Date | undefined, ctx: ActorContext): Promise<RunSummary> {
    const deadline = deadlineAfter(this.scheduler, WAIT_FOR_RUN_MS);
    try {
      return await this.backfillUntil(deadline, since, ctx);
    } finally {
      deadline.cancel();
    }
  }

  private async backfillUntil(deadline: Deadline, since: Date | undefined, ctx: ActorContext): Promise<RunSummary> {
    for (;;) {
      const result = await this.runLocked('fills', { since });
      if (result) {
        await this.audit.append({
          action: 'reconciliation.fills_backfill',
          actor: ctx.actor,
          requestId: ctx.requestId,
          details: { since: since?.toISOString() ?? null, ok: result.ok, error: result.error, summary: result.summary },
        });
        if (!result.ok) {
          throw new DomainError('unavailable', 'BROKER_UNAVAILABLE', `Fills backfill failed: ${result.error}`);
        }
        return result.summary!;
      }
      if (deadline.passed) {
        throw new ConflictError('RECONCILIATION_RUNNING', 'A reconciliation run is in progress; try again shortly');
      }
      await this.scheduler.sleep(200);
    }
  }

  /** Opens the gate on every replica that started before now (audited with the operator). */
  async forceComplete(cmd: { operator: string; reason: string }, ctx: ActorContext): Promise<ReconciliationStatus> {
    await this.uow.run(async (tx) => {
      const at = await this.repo.forceComplete(tx, cmd.operator, cmd.reason);
      await this.audit.append(
        {
          action: 'reconciliation.force_completed',
          actor: cmd.operator,
          requestId: ctx.requestId,
          reasonCode: 'RECONCILIATION_FORCE_COMPLETE',
          details: { reason: cmd.reason, api_key: ctx.actor, at: at.toISOString() },
        },
        tx,
      );
    });
    await this.gate.announce();
    this.logger.warn({ msg: 'reconciliation gate force-completed', operator: cmd.operator, reason: cmd.reason });
    return this.status();
  }

  async acknowledge(
    id: string,
    cmd: { operator: string; notes: string | null },
    ctx: ActorContext,
  ): Promise<FindingRecord> {
    const finding = await this.uow.run(async (tx) => {
      const f = await this.findings.acknowledge(tx, id, cmd.operator, cmd.notes);
      if (!f) return null;
      await this.audit.append(
        {
          action: 'reconciliation.finding_acknowledged',
          actor: cmd.operator,
          requestId: ctx.requestId,
          symbol: f.symbol,
          clientOrderId: f.clientOrderId,
          details: {
            finding_id: f.id,
            kind: f.kind,
            broker_order_id: f.brokerOrderId,
            local: f.local,
            broker: f.broker,
            notes: cmd.notes,
            api_key: ctx.actor,
          },
        },
        tx,
      );
      await this.repo.touch(tx);
      return f;
    });
    if (!finding) {
      const existing = await this.findings.findingById(id);
      if (!existing) throw new NotFoundError('FINDING_NOT_FOUND', `No reconciliation finding ${id}`);
      throw new ConflictError(
        'FINDING_ALREADY_RESOLVED',
        `Finding ${id} is already resolved (${existing.resolution})`,
        {
          resolved_at: existing.resolvedAt?.toISOString() ?? null,
          resolution: existing.resolution,
        },
      );
    }
    await this.gate.announce();
    await this.refreshOpenGauges().catch(() => undefined);
    return finding;
  }

  /** From PostgreSQL (the gate from this replica's memory). */
  async status(): Promise<ReconciliationStatus> {
    await this.gate.refresh();
    const [state, findings] = await Promise.all([
      this.repo.readState(),
      this.findings.listFindings(RESOLVED_LISTED_MS, FINDINGS_LIMIT),
    ]);
    const openByKind: Record<string, number> = Object.fromEntries(FINDING_KINDS.map((k) => [k, 0]));
    for (const f of findings) if (!f.resolvedAt) openByKind[f.kind] += 1;
    return {
      gate: this.gate.view(),
      gateOpenedBy: this.gate.openedBy(),
      state,
      running: state.lockHeld,
      findings,
      openByKind,
    };
  }
}

function describe(err: unknown): string {
  if (err instanceof Error)
    return `${err.name === 'BrokerError' ? 'broker unreachable or failing: ' : ''}${err.message}`;
  return String(err);
}
