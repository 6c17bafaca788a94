/**
 * Sends due TWAP slices (docs/twap.md#dispatch), on every replica.
 *
 * Invariants:
 * - a slice is claimed once: a pass locks the plans it works on with
 *   FOR UPDATE SKIP LOCKED and marks their slices due within CLAIM_AHEAD_MS
 *   `sending` (with the quantity fixed) in the same transaction, so two
 *   replicas never claim one slice; each is sent after the commit, outside
 *   any transaction, when it is due (never before); outcomes are written by
 *   one writer, many per statement (./slice-outcome-writer.ts);
 * - a slice reaches the broker at most once: its order's client_order_id is
 *   the slice's own id, and the order-entry door resolves duplicates on the
 *   orders table's primary key. A claim left `sending` by a crash is sent
 *   again through the door after SENDING_STALE_MS: the door answers the order
 *   that exists, or writes it if it never was;
 * - every slice goes through the order-entry door, so every check applies
 *   again, and its order is written with its plan link; a kill-switch,
 *   breaker or halted-strategy refusal is recorded by the door as a `blocked_*` order row and the
 *   slice takes that state; another refusal writes no order and the slice is
 *   `refused`; either way its quantity is carried to the next slice sent
 *   (./domain/carry-forward.ts);
 * - a slice due more than SLICE_MISFIRE_GRACE_SECONDS ago is expired and
 *   audited, never sent;
 * - a plan whose every slice is done and every child order ended settles:
 *   `completed` (its shortfall audited) or `expired` when nothing was sent.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { ActorContext } from '../audit/audit-entry';
import { AuditRepository } from '../audit/audit.repository';
import { Principal } from '../auth/permission';
import { DomainError } from '../common/domain-error';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock } from '../infra/clock/clock';
import { Scheduler, TaskHandle } from '../infra/clock/scheduler';
import { Tx, UnitOfWork } from '../infra/database/unit-of-work';
import { CoalescedRefresher } from '../infra/state/replicated-state';
import { OrderCommand } from '../order-entry/order-command';
import { SLICE_BLOCKS, sliceBlockCode } from '../order-entry/entry-rules';
import { SubmitOrderUseCase } from '../order-entry/submit-order.use-case';
import { OrderRepository } from '../orders/persistence/order.repository';
import { CancelOrderUseCase } from '../orders/use-cases/cancel-order.use-case';
import { isOpen } from '../trading/order-state-machine';
import { BlockedStatus } from '../trading/order-status';
import { decideDueSlices, exposureOf, isSettled, SliceState } from './domain/carry-forward';
import { PLAN_STATUSES, SliceRow, TwapPlan, TwapRepository } from './persistence/twap.repository';
import { DueTimeHold } from './due-time-hold';
import { SliceOutcomeWriter } from './slice-outcome-writer';
import { TwapMetrics } from './twap.metrics';
import { ReconciliationGateSource } from '../risk/pipeline/pre-trade-sources';

/** How often due slices are looked for at least; between passes a timer wakes the dispatcher when the next slice falls due. */
export const DISPATCH_TICK_MS = 1000;
/** A `sending` claim older than this was left by a crash (or a lost answer) and is sent again through the door. */
export const SENDING_STALE_MS = 30_000;
const PLANS_PER_CLAIM = 200;
/** Slices going through the door at once on this replica. */
const SEND_CONCURRENCY = 32;
/** Claimed slices waiting for the door beyond which this replica claims no more (another replica may). */
const MAX_BACKLOG = 400;
/** Spacing of the settle pass (its own timer, so a claim never waits behind it) and of the plans-by-status count. */
const SETTLE_EVERY_MS = 1000;
const COUNT_EVERY_MS = 10_000;
/** A pass claims the slices due within this much ahead, each held until its time (never sent before). */
export const CLAIM_AHEAD_MS = 500;

/** Who the dispatcher acts as: the plan was authorized for its strategy when it was accepted. */
export const TWAP_PRINCIPAL = new Principal(
  'system:twap',
  'system',
  new Set(['SUBMIT_ORDER', 'CANCEL_ORDER', 'VIEW_ORDERS'] as const),
  ['*'],
);
const TWAP_ACTOR: ActorContext = { actor: 'system', requestId: null };

interface Claimed {
  plan: TwapPlan;
  slice: SliceRow;
  qty: number;
}

/** The slice state of a refusal code, or of the status its order was written in (SLICE_BLOCKS). */
const BLOCKED: Partial<Record<string, BlockedStatus>> = {
  ...SLICE_BLOCKS,
  ...Object.fromEntries(Object.values(SLICE_BLOCKS).map((status) => [status, status])),
};

@Injectable()
export class TwapDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('TwapDispatcher');
  private timer?: TaskHandle;
  /** The wake-up at the next due slice, when it falls before the next periodic pass. */
  private wake?: TaskHandle;
  private housekeeping?: TaskHandle;
  /** Passes never overlap; one asked for during a pass runs right after it. */
  private readonly passes = new CoalescedRefresher(() => this.pass());
  private readonly settles = new CoalescedRefresher(() => this.settlePass());
  /** Claimed slices held until they are due (claimed ahead). */
  private readonly holding: DueTimeHold<Claimed>;
  /** Claimed slices waiting for a free send, and the sends under way. */
  private readonly queue: Claimed[] = [];
  private readonly sending = new Set<Promise<void>>();
  /** Ids of the slices this replica has claimed and not finished: never taken up again as stale here. */
  private readonly mine = new Set<string>();
  /** Records the senders' outcomes, many per statement. */
  private readonly outcomes: SliceOutcomeWriter;
  private stopped = false;
  private lastCount = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly plans: TwapRepository,
    private readonly orders: OrderRepository,
    private readonly submit: SubmitOrderUseCase,
    private readonly cancel: CancelOrderUseCase,
    private readonly audit: AuditRepository,
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
    private readonly scheduler: Scheduler,
    private readonly metrics: TwapMetrics,
    private readonly gate: ReconciliationGateSource,
  ) {
    this.outcomes = new SliceOutcomeWriter(plans);
    const dueAt = (c: Claimed) => c.slice.scheduledTime.getTime();
    this.holding = new DueTimeHold<Claimed>(clock, scheduler, dueAt, (due) => this.release(due));
  }

  onApplicationBootstrap(): void {
    this.timer = this.scheduler.every(DISPATCH_TICK_MS, () => this.claimPass(), { name: 'twap-dispatch' });
    this.housekeeping = this.scheduler.every(SETTLE_EVERY_MS, () => this.settles.refresh(), { name: 'twap-settle' });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.wake?.cancel();
    this.housekeeping?.cancel();
    await Promise.all([this.passes.stop(), this.settles.stop()]);
    await this.drained();
  }

  /** Looks for due slices now (a plan was just accepted: its slice 0 is due at once). */
  poke(): void {
    this.scheduler.after(0, () => this.claimPass(), { name: 'twap-dispatch-now' });
  }

  /** One pass, every send it started, then a settle pass: what a test (or an operator's tool) awaits. */
  async tick(): Promise<void> {
    await this.claimPass();
    await this.drained();
    await this.settles.refresh();
  }

  /**
   * Claims what is due and hands it to the senders without waiting for them,
   * so the next pass can claim what falls due meanwhile. A pass asked for while
   * one runs is run right after it.
   */
  private claimPass(): Promise<void> {
    return this.passes.refresh();
  }

  private async pass(): Promise<void> {
    try {
      // A closed reconciliation gate: due slices wait (within their grace), not refused and carried.
      if (!this.gate.current().open) return;
      while (this.queue.length < MAX_BACKLOG && !this.stopped) {
        const { claimed, plans } = await this.claimDue();
        this.enqueue(claimed);
        if (plans < PLANS_PER_CLAIM) break;
      }
      await this.wakeAtNextDue();
    } catch (err) {
      this.logger.error({ err, msg: 'TWAP dispatch pass failed' });
    }
  }

  /** Settles the plans that are done, and now and then counts the plans by status. */
  private async settlePass(): Promise<void> {
    try {
      await this.settle();
      const now = performance.now();
      if (now - this.lastCount >= COUNT_EVERY_MS) {
        this.lastCount = now;
        this.metrics.plansByStatus(await this.plans.countPlansByStatus(), PLAN_STATUSES);
      }
    } catch (err) {
      this.logger.error({ err, msg: 'TWAP settle pass failed' });
    }
  }

  /** Sets a timer for the next slice due before the next periodic pass (none while a backlog waits). */
  private async wakeAtNextDue(): Promise<void> {
    if (this.stopped || this.queue.length >= MAX_BACKLOG) return;
    const next = await this.plans.nextDue();
    if (!next) return;
    const inMs = next.getTime() - CLAIM_AHEAD_MS - this.clock.now().getTime();
    // Already due yet unclaimed (another replica holds its plan): the periodic pass looks again.
    if (inMs <= 0 || inMs >= DISPATCH_TICK_MS) return;
    this.wake?.cancel();
    this.wake = this.scheduler.after(inMs, () => this.claimPass(), { name: 'twap-dispatch-due' });
  }

  /** Claims (or expires) the slices due within CLAIM_AHEAD_MS of up to PLANS_PER_CLAIM plans, in one transaction. */
  private async claimDue(): Promise<{ claimed: Claimed[]; plans: number }> {
    const now = this.clock.now();
    const dueBy = new Date(now.getTime() + CLAIM_AHEAD_MS);
    const graceMs = this.config.sliceMisfireGraceSeconds * 1000;
    return this.uow.run(async (tx) => {
      const plans = await this.plans.lockDuePlans(
        tx,
        dueBy,
        new Date(now.getTime() - SENDING_STALE_MS),
        PLANS_PER_CLAIM,
      );
      if (!plans.length) return { claimed: [], plans: 0 };
      const slicesByPlan = await this.plans.slicesOf(
        plans.map((p) => p.parentOrderId),
        tx,
      );
      const claimed: Claimed[] = [];
      const sends: Array<{ clientOrderId: string; qty: number }> = [];
      const started: string[] = [];
      for (const plan of plans) {
        const slices = slicesByPlan.get(plan.parentOrderId) ?? [];
        const byNum = new Map(slices.map((s) => [s.sliceNum, s]));
        for (const s of slices) {
          const stale = s.claimedAt !== null && now.getTime() - s.claimedAt.getTime() > SENDING_STALE_MS;
          if (s.state !== 'sending' || !stale || this.mine.has(s.clientOrderId)) continue;
          const lateMs = now.getTime() - s.scheduledTime.getTime();
          if (!s.child && lateMs >= graceMs) {
            // Left unsent by a crash and now past the grace: a misfire, released before the due slices take theirs.
            await this.plans.setState(tx, s.clientOrderId, 'expired', { reasonCode: 'SLICE_MISFIRED' });
            await this.auditExpiry(plan, s, lateMs, now, tx);
            s.state = 'expired';
            this.metrics.sliceOutcome('expired');
            continue;
          }
          await this.plans.reclaim(tx, s.clientOrderId, now);
          claimed.push({ plan, slice: s, qty: s.sentQty ?? s.plannedQty });
        }
        for (const action of decideDueSlices(plan.totalQty, slices, now, graceMs, dueBy)) {
          const slice = byNum.get(action.sliceNum)!;
          if (action.kind === 'send') {
            sends.push({ clientOrderId: slice.clientOrderId, qty: action.qty });
            claimed.push({ plan, slice, qty: action.qty });
            if (action.carried > 0) {
              this.logger.log(`slice ${slice.clientOrderId} carries ${action.carried} share(s) from earlier slices`);
            }
          } else if (action.kind === 'expire') {
            await this.plans.setState(tx, slice.clientOrderId, 'expired', { reasonCode: 'SLICE_MISFIRED' });
            await this.auditExpiry(plan, slice, action.lateMs, now, tx);
            this.metrics.sliceOutcome('expired');
          } else {
            await this.plans.setState(tx, slice.clientOrderId, 'skipped', { reasonCode: 'NOTHING_LEFT' });
            this.metrics.sliceOutcome('skipped');
          }
        }
        if (plan.status === 'scheduled') started.push(plan.parentOrderId);
      }
      await this.plans.claim(tx, sends, now);
      await this.plans.activate(tx, started);
      return { claimed, plans: plans.length };
    });
  }

  /** Hands the claimed slices to the senders, each when it is due (claimed ahead: held until then). */
  private enqueue(claimed: Claimed[]): void {
    for (const c of claimed) this.mine.add(c.slice.clientOrderId);
    this.holding.add(claimed);
  }

  private release(claimed: Claimed[]): void {
    // Earliest due first: a pass claims plan by plan, the senders take slices by due time.
    this.queue.push(...claimed.sort((a, b) => a.slice.scheduledTime.getTime() - b.slice.scheduledTime.getTime()));
    while (this.sending.size < SEND_CONCURRENCY && this.queue.length) {
      const worker: Promise<void> = (async () => {
        for (let next = this.queue.shift(); next; next = this.queue.shift()) {
          const id = next.slice.clientOrderId;
          await this.send(next)
            .catch((err: unknown) => this.logger.error({ err, client_order_id: id, msg: 'TWAP slice send failed' }))
            .finally(() => this.mine.delete(id));
        }
      })().finally(() => this.sending.delete(worker));
      this.sending.add(worker);
    }
  }

  /** Resolves once no claimed slice is waiting or being sent. */
  private async drained(): Promise<void> {
    while (this.sending.size || this.holding.size) await Promise.all([...this.sending, ...this.holding.pending()]);
  }

  /**
   * The plan was just canceled: its slices claimed ahead and not yet due are
   * not sent (marked `canceled`). One already due is sent, and its order
   * cancelled once written; so is one another replica holds.
   */
  async stopHeld(parentOrderId: string): Promise<void> {
    const stopped = this.holding
      .remove((c) => c.plan.parentOrderId === parentOrderId)
      .map((c) => c.slice.clientOrderId);
    if (!stopped.length) return;
    await this.plans.stopClaims(stopped);
    for (const id of stopped) this.mine.delete(id);
    this.metrics.sliceOutcome('canceled');
  }

  /** One slice through the order-entry door; records what became of it. */
  private async send({ plan, slice, qty }: Claimed): Promise<void> {
    const id = slice.clientOrderId;
    let state: SliceState = 'sent';
    let reasonCode: string | null = null;
    // Waited past the grace for a free send (an overloaded replica): expired like a misfire, unless
    // its order was already written (a claim taken up again after a crash): then it was sent.
    const now = this.clock.now();
    const lateMs = now.getTime() - slice.scheduledTime.getTime();
    if (lateMs >= this.config.sliceMisfireGraceSeconds * 1000 && !(await this.orders.findByClientOrderId(id))) {
      await this.uow.run(async (tx) => {
        if (await this.plans.setState(tx, id, 'expired', { reasonCode: 'SLICE_MISFIRED', from: ['sending'] })) {
          await this.auditExpiry(plan, slice, lateMs, now, tx);
        }
      });
      this.metrics.sliceOutcome('expired');
      return;
    }
    try {
      const cmd = OrderCommand.forSlice({
        symbol: plan.symbol,
        side: plan.side,
        qty,
        order_type: plan.orderType,
        limit_price: plan.limitPrice,
        stop_price: plan.stopPrice,
        time_in_force: plan.timeInForce,
        strategy_id: plan.strategyId,
        client_order_id: id,
      });
      const res = await this.submit.execute(cmd, TWAP_PRINCIPAL, TWAP_ACTOR, {
        slice: {
          parentOrderId: plan.parentOrderId,
          sliceNum: slice.sliceNum,
          totalSlices: plan.totalSlices,
          scheduledTime: slice.scheduledTime,
        },
      });
      // A claim taken up again may find the order it wrote blocked before the crash.
      const blocked = BLOCKED[res.order.status];
      if (blocked) {
        state = blocked;
        reasonCode = sliceBlockCode(blocked);
      }
    } catch (err) {
      if (!(err instanceof DomainError)) {
        // Unknown outcome: the claim stays `sending` and is taken up again (the door dedupes).
        this.logger.error({ err, client_order_id: id, msg: 'TWAP slice send failed; it will be retried' });
        return;
      }
      // An order row means the door wrote it: blocked (by the kill switch, the breaker or a halt, at the
      // checks or right before the broker), else sent (e.g. the broker refused the credentials).
      const written = await this.orders.findByClientOrderId(id).catch(() => null);
      const blocked = written ? BLOCKED[written.status] : undefined;
      if (!written || blocked) {
        state = blocked ?? BLOCKED[err.code] ?? 'refused';
        reasonCode = err.code;
      }
    }
    const at = this.clock.now();
    const planStatus = await this.outcomes.record({
      clientOrderId: id,
      state,
      reasonCode,
      sentAt: state === 'sent' ? at : null,
    });
    if (state === 'sent') {
      this.metrics.sliceSent((at.getTime() - slice.scheduledTime.getTime()) / 1000);
      if (planStatus === 'canceled') await this.cancelChild(id);
    } else {
      this.metrics.sliceOutcome(state);
      this.logger.warn(`TWAP slice ${id} not sent: ${reasonCode}; its quantity is carried to the next slice`);
    }
  }

  private auditExpiry(plan: TwapPlan, slice: SliceRow, lateMs: number, at: Date, tx: Tx): Promise<void> {
    return this.audit.append(
      {
        action: 'twap.slice_expired',
        actor: 'system',
        clientOrderId: slice.clientOrderId,
        strategyId: plan.strategyId,
        symbol: plan.symbol,
        reasonCode: 'SLICE_MISFIRED',
        details: {
          parent_order_id: plan.parentOrderId,
          slice_num: slice.sliceNum,
          scheduled_time: slice.scheduledTime.toISOString(),
          late_ms: lateMs,
          grace_seconds: this.config.sliceMisfireGraceSeconds,
        },
        occurredAt: at,
      },
      tx,
    );
  }

  /** A DELETE that ran while this slice was being sent could not cancel its order: it is cancelled here. */
  private async cancelChild(clientOrderId: string): Promise<void> {
    const order = await this.orders.findByClientOrderId(clientOrderId);
    if (!order || !isOpen(order.status)) return;
    await this.cancel
      .execute(clientOrderId, TWAP_PRINCIPAL, TWAP_ACTOR)
      .catch((err: unknown) => this.logger.error({ err, client_order_id: clientOrderId, msg: 'cancel failed' }));
  }

  /** Plans with nothing left to send or fill: completed (shortfall audited) or expired. */
  private async settle(): Promise<void> {
    const now = this.clock.now();
    await this.uow.run(async (tx) => {
      const plans = await this.plans.lockSettleCandidates(tx, PLANS_PER_CLAIM);
      if (!plans.length) return;
      const slicesByPlan = await this.plans.slicesOf(
        plans.map((p) => p.parentOrderId),
        tx,
      );
      for (const plan of plans) {
        const slices = slicesByPlan.get(plan.parentOrderId) ?? [];
        if (!isSettled(slices)) continue;
        const neverSent = slices.every((s) => !s.child);
        const status = neverSent && slices.every((s) => s.state === 'expired') ? 'expired' : 'completed';
        const filled = slices.reduce((n, s) => n + (s.child?.filledQty ?? 0), 0);
        const shortfall = plan.totalQty - exposureOf(slices);
        await this.plans.setPlanStatus(tx, plan.parentOrderId, status, { at: now, shortfallQty: shortfall });
        await this.audit.append(
          {
            action: status === 'expired' ? 'twap.expired' : 'twap.completed',
            actor: 'system',
            clientOrderId: plan.parentOrderId,
            strategyId: plan.strategyId,
            symbol: plan.symbol,
            reasonCode: shortfall > 0 ? 'TWAP_SHORTFALL' : null,
            details: { total_qty: plan.totalQty, filled_qty: filled, shortfall_qty: shortfall },
            occurredAt: now,
          },
          tx,
        );
        this.metrics.shortfallShares(shortfall);
      }
    });
  }
}
