import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { StateStore } from '../infra/state/state-store';
import {
  applyRead,
  BlockedSymbol,
  blockedSymbols,
  closedReason,
  GATE_REFRESH_MS,
  GateSnapshot,
  GateView,
  isReadable,
  opensGate,
} from './domain/gate';
import { ReconciliationState, ReconciliationRepository } from './persistence/reconciliation.repository';
import { ReconciliationMetrics } from './reconciliation.metrics';

/** "Read again" notifications (the state itself always comes from PostgreSQL). */
export const RECONCILIATION_CHANNEL = 'reconciliation.changes';

const EMPTY: ReadonlyMap<string, BlockedSymbol> = new Map();

/**
 * The reconciliation gate as this process sees it, for the order path.
 *
 * Modelled on the kill switch: the state row and the open blocking findings
 * are re-read from PostgreSQL every 250 ms and at once on a
 * `reconciliation.changes` message; `current()` answers from memory, and a
 * state not confirmed within the last second is unreadable (fail closed).
 * The gate is per process: closed at boot, open once this process has seen a
 * successful run (or a force-complete) that finished after it started.
 */
@Injectable()
export class ReconciliationGateService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ReconciliationGate');
  private snapshot: GateSnapshot | null = null;
  private full: ReconciliationState | null = null;
  /** This process's start, on the database's clock. */
  private startedAt: Date | null = null;
  private opened: 'run' | 'force' | null = null;
  private blocked: ReadonlyMap<string, BlockedSymbol> = EMPTY;
  private clockOffsetMs = 0;
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private again = false;
  private stopped = false;
  private unsubscribe?: () => Promise<void>;
  private readonly listeners = new Set<() => void>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repo: ReconciliationRepository,
    private readonly store: StateStore,
    private readonly metrics: ReconciliationMetrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.metrics.bind({
      lastSuccessAt: () => this.full?.lastSuccessAt ?? null,
      dbClockOffsetMs: () => this.clockOffsetMs,
      gateOpen: () => this.opened !== null,
    });
    try {
      this.startedAt = await this.repo.now();
    } catch (err) {
      // Without the database nothing is served anyway; the first successful read sets it.
      this.logger.warn(`cannot read the database clock at boot: ${(err as Error).message}`);
    }
    try {
      this.unsubscribe = await this.store.subscribe(RECONCILIATION_CHANNEL, () => void this.refresh());
    } catch (err) {
      this.logger.warn(`cannot subscribe to ${RECONCILIATION_CHANNEL}: ${(err as Error).message}`);
    }
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), GATE_REFRESH_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.unsubscribe?.().catch(() => undefined);
    await this.refreshing?.catch(() => undefined);
  }

  /** The order path's view: synchronous, from memory. */
  current(): {
    readable: boolean;
    open: boolean;
    reason: string | null;
    blockedSymbols: ReadonlyMap<string, { code: 'SYMBOL_QUARANTINED'; reason: string }>;
  } {
    return this.view();
  }

  view(): GateView {
    const readable = isReadable(this.snapshot, performance.now());
    if (!readable) {
      return {
        readable: false,
        open: false,
        reason: 'the reconciliation state has not been confirmed within the last second',
        blockedSymbols: this.blocked,
      };
    }
    if (this.opened) return { readable: true, open: true, reason: null, blockedSymbols: this.blocked };
    const running = !!this.full?.lockHeld;
    return {
      readable: true,
      open: false,
      reason: closedReason(this.snapshot!.state, running),
      blockedSymbols: this.blocked,
    };
  }

  /** How the gate opened (null while closed). */
  openedBy(): 'run' | 'force' | null {
    return this.opened;
  }

  /** Now, on the database's clock (as of the last read's offset). */
  dbNowMs(): number {
    return Date.now() + this.clockOffsetMs;
  }

  processStartedAt(): Date | null {
    return this.startedAt;
  }

  /** The last state read (for scheduling on the leader and for status). */
  lastState(): ReconciliationState | null {
    return this.full;
  }

  /** Called after every successful read. */
  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => void this.listeners.delete(cb);
  }

  /** Tells every replica to read again now. */
  async announce(): Promise<void> {
    await this.refresh();
    await this.store.publish(RECONCILIATION_CHANNEL, 'changed').catch((err: unknown) => {
      this.logger.warn(
        `reconciliation change not announced (replicas see it within 250 ms): ${(err as Error).message}`,
      );
    });
  }

  /** Shared read: concurrent calls wait for one read, and a call during a read causes one more. Never throws. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        await this.readOnce();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async readOnce(): Promise<void> {
    const startedAt = performance.now();
    try {
      const [state, blocking] = await Promise.all([this.repo.readState(), this.repo.openBlockingFindings()]);
      this.startedAt ??= state.dbNow;
      this.clockOffsetMs = state.dbNow.getTime() - Date.now();
      this.snapshot = applyRead(this.snapshot, { state, blocking }, startedAt);
      if (this.snapshot.state !== state) return; // an older version read late
      this.full = state;
      this.blocked = blockedSymbols(blocking, this.config.reconciliation.positionMismatchPolicy);
      if (!this.opened) {
        this.opened = opensGate(state, this.startedAt);
        if (this.opened) {
          this.logger.log(
            this.opened === 'force'
              ? `reconciliation gate opened by force-complete (${state.forceCompletedBy ?? 'unknown operator'})`
              : 'reconciliation gate opened: the startup reconciliation completed',
          );
        }
      }
      for (const cb of this.listeners) cb();
    } catch (err) {
      this.logger.debug(`reconciliation state read failed: ${(err as Error).message}`);
    }
  }
}
