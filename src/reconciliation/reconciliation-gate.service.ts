import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock } from '../infra/clock/clock';
import { ReplicatedState } from '../infra/state/replicated-state';
import { StateStore } from '../infra/state/state-store';
import {
  BlockedSymbol,
  blockedSymbols,
  closedReason,
  GATE_MAX_AGE_MS,
  GATE_REFRESH_MS,
  GateView,
  OpenBlockingFinding,
  opensGate,
} from './domain/gate';
import { FindingsRepository } from './persistence/findings.repository';
import { ReconciliationState, ReconciliationStateRepository } from './persistence/reconciliation-state.repository';
import { ReconciliationMetrics } from './reconciliation.metrics';

/** "Read again" notifications, `<prefix>reconciliation.changes` on the wire (the state itself always comes from PostgreSQL). */
export const RECONCILIATION_CHANNEL = 'reconciliation.changes';

const EMPTY: ReadonlyMap<string, BlockedSymbol> = new Map();

/** One read: the state row and the open blocking findings, ordered by the row's version. */
interface GateRead {
  version: number;
  state: ReconciliationState;
  blocking: readonly OpenBlockingFinding[];
}

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
  private readonly replica: ReplicatedState<GateRead>;
  private full: ReconciliationState | null = null;
  /** This process's start, on the database's clock. */
  private startedAt: Date | null = null;
  private opened: 'run' | 'force' | null = null;
  private blocked: ReadonlyMap<string, BlockedSymbol> = EMPTY;
  private clockOffsetMs = 0;
  private readonly listeners = new Set<() => void>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repo: ReconciliationStateRepository,
    private readonly findings: FindingsRepository,
    store: StateStore,
    private readonly metrics: ReconciliationMetrics,
    private readonly clock: Clock,
  ) {
    this.replica = new ReplicatedState({
      name: 'reconciliation',
      what: 'state',
      logger: this.logger,
      store,
      read: () => this.read(),
      channel: RECONCILIATION_CHANNEL,
      refreshMs: GATE_REFRESH_MS,
      maxAgeMs: GATE_MAX_AGE_MS,
      onAccepted: ({ state, blocking }) => this.accepted(state, blocking),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.metrics.bind({
      lastSuccessAt: () => this.full?.lastSuccessAt ?? null,
      dbNowMs: () => this.dbNowMs(),
      gateOpen: () => this.opened !== null,
    });
    try {
      this.startedAt = await this.repo.now();
    } catch (err) {
      // Without the database nothing is served anyway; the first successful read sets it.
      this.logger.warn(`cannot read the database clock at boot: ${(err as Error).message}`);
    }
    await this.replica.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.replica.stop();
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
    const snapshot = this.replica.snapshot;
    if (!snapshot || !this.replica.readable()) {
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
      reason: closedReason(snapshot.state.state, running),
      blockedSymbols: this.blocked,
    };
  }

  /** How the gate opened (null while closed). */
  openedBy(): 'run' | 'force' | null {
    return this.opened;
  }

  /** Now, on the database's clock (as of the last read's offset). */
  dbNowMs(): number {
    return this.clock.now().getTime() + this.clockOffsetMs;
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
    await this.replica.announceReread('changed');
  }

  /** Shared read: concurrent calls wait for one read, and a call during a read causes one more. Never throws. */
  refresh(): Promise<void> {
    return this.replica.refresh();
  }

  private async read(): Promise<GateRead> {
    const [state, blocking] = await Promise.all([this.repo.readState(), this.findings.openBlockingFindings()]);
    this.startedAt ??= state.dbNow;
    this.clockOffsetMs = state.dbNow.getTime() - this.clock.now().getTime();
    return { version: state.version, state, blocking };
  }

  /** After every read that is not an older version read late. */
  private accepted(state: ReconciliationState, blocking: readonly OpenBlockingFinding[]): void {
    this.full = state;
    this.blocked = blockedSymbols(blocking, this.config.reconciliation.positionMismatchPolicy);
    if (!this.opened) {
      this.opened = opensGate(state, this.startedAt ?? state.dbNow);
      if (this.opened) {
        this.logger.log(
          this.opened === 'force'
            ? `reconciliation gate opened by force-complete (${state.forceCompletedBy ?? 'unknown operator'})`
            : 'reconciliation gate opened: the startup reconciliation completed',
        );
      }
    }
    for (const cb of this.listeners) cb();
  }
}
