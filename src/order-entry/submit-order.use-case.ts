/**
 * The one order-entry door (docs/architecture.md, "The order-entry door"):
 * every way of creating an order — POST /orders today; TWAP slices, manual
 * orders, position close/adjust/flatten and bracket legs as they come — calls
 * `execute` with a validated OrderCommand. In order: the id rules and the
 * strategy scope, the pre-trade checks, the write-ahead insert with its audit
 * row, and the dispatch to the broker.
 *
 * Invariants:
 * - an order with legs (bracket, oto, oco) is written with its leg rows and
 *   their audit rows in the same unit of work; the checks judge the entry
 *   alone (legs never add exposure), and an OCO must only reduce the position
 *   it exits (422 otherwise); a reduce-only judgement (OCO, reduce-only
 *   option, the checks' exemptions) counts the resting exit legs on its side;
 * - the order row and its audit row are written in one statement before any
 *   broker call (write-ahead); live, that insert counts the order in its
 *   symbol's exposure counter. A simple order is first judged against the
 *   committed counters (as read at most a second ago: this look only picks
 *   the way) as one that adds exposure; when it passes, it is
 *   inserted under a guard (what the counters must still allow) that the
 *   insert's trigger checks on the row it holds for that statement alone
 *   (one statement for the fast-path orders of its symbol waiting at that
 *   moment, each under its own guard: GuardedInsertQueue); past the guard
 *   nothing is written and the order is judged again the locked way. The locked way (reduce-only and OCO orders, orders with
 *   legs, and every refusal): the insert holds the row and the checks judge
 *   the exposure read from it in the same unit of work (a refusal rolls it
 *   back). The strategy's open-order slot is taken
 *   at commit, which fails past the limit: two concurrent orders cannot both
 *   pass a limit only one of them fits under, and orders of one strategy
 *   wait for each other only for the commit;
 * - a refused order writes no order row; its refusal is audited. The one
 *   exception is a TWAP slice (`EntryOptions.slice`) refused by the kill
 *   switch, the circuit breaker or its strategy's halt: it is written as a `blocked_*` order row,
 *   audited `order.blocked` with the reason code, in one statement, and
 *   answered with the same 503 (docs/twap.md#dispatch);
 * - a TWAP slice's plan link (parent id, slice number, total, scheduled time)
 *   is part of the write-ahead insert: no child order exists without it.
 *   Only the slice dispatcher sets it (nothing from HTTP does);
 * - one client_order_id is one order: concurrent duplicates resolve on the
 *   primary key and every caller gets the same order back; a replay of an
 *   existing order is answered even when the checks would now refuse it (a
 *   replay adds no exposure);
 * - an id the key cannot use — one naming another strategy's order, or one in
 *   the derived format that this order does not derive — gets one answer,
 *   409 CLIENT_ORDER_ID_UNAVAILABLE, whether or not an order holds it, and
 *   nothing about any other order (docs/api.md#client_order_id-and-idempotency);
 * - DRY_RUN never reaches a broker: the order is recorded as `dry_run`;
 * - otherwise the order is written `pending_new` first, then dispatched
 *   outside any transaction; an ambiguous broker answer is a 202 with the
 *   order still resolving. When the shared broker budget has no room the
 *   order is queued instead and answered 202 `pending_new`; it is sent as the
 *   budget allows (docs/broker-pacing.md).
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ActorContext, AuditEntry } from '../audit/audit-entry';
import { Principal } from '../auth/permission';
import { ConflictError, DomainError, ForbiddenError } from '../common/domain-error';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock } from '../infra/clock/clock';
import { Tx, UnitOfWork } from '../infra/database/unit-of-work';
import { GatewayMetrics } from '../infra/metrics/gateway-metrics';
import { ExposureRepository, strategyLimitError } from '../orders/persistence/exposure.repository';
import { InsertGuard, isGuardError } from '../orders/persistence/order-insert';
import { OrderRepository } from '../orders/persistence/order.repository';
import { GuardedInsertQueue } from '../orders/jobs/guarded-insert-queue';
import { PacedDispatchService } from '../orders/jobs/paced-dispatch.service';
import { DispatchResult } from '../orders/use-cases/dispatch-order.use-case';
import { Denial } from '../risk/pipeline/pre-trade-check';
import { exposureBefore, guardSetting, openOrdersDenial, OrderIntent } from '../risk/pipeline/pre-trade-checks';
import { PreTradeChecks, PreTradeInputs } from '../risk/pipeline/pre-trade-checks.service';
import { generateClientOrderId } from '../trading/client-order-id';
import { buildLegOrders, buildNewOrder, differingTerms, NewOrder, Order, SliceLink } from '../trading/order';
import {
  assertExit,
  assertReduceOnly,
  DERIVED_ID_FORMAT,
  DISPATCH_MESSAGES,
  CommittedExposureReads,
  QUEUED_MESSAGE,
  SLICE_BLOCKS,
  unavailable,
} from './entry-rules';
import { BlockedSliceRecorder } from './blocked-slice.recorder';
import { OrderCommand } from './order-command';

/** What an entry point adds to an order besides its terms. */
export interface EntryOptions {
  /** Recorded in the order's metadata (e.g. `{source: "manual", reason, operator}`). */
  metadata?: Record<string, unknown>;
  /**
   * The order must only reduce the position, never past flat, counting the
   * open orders on its side, judged under the exposure lock: otherwise it is
   * refused (409 CLOSE_PENDING) and nothing is written. Position close, adjust
   * toward zero and flatten send these.
   */
  reduceOnly?: boolean;
  /**
   * Internal: the order is this TWAP slice. The link is written with the
   * order, and a kill-switch, breaker or halted-strategy refusal is recorded as a `blocked_*`
   * order row (the slice's id stays taken: it is never sent later). Set only
   * by the slice dispatcher, never from a request.
   */
  slice?: SliceLink;
}

export interface SubmitOrderResult {
  order: Order;
  /** True when this call created the order; false when it already existed. */
  created: boolean;
  /** True when the broker's answer is not known yet (202): follow the order by id or events. */
  pending: boolean;
  message: string;
  /** The legs of an order with legs (bracket, oto, oco), as they stand; empty (or absent) for a simple order. */
  legs?: Order[];
}

type Insert = { order: Order | null; created: boolean };

/** Thrown inside the admitting unit of work to roll the insert back: the checks refused the order. */
class Refused extends Error {
  constructor(readonly denial: Denial) {
    super(denial.code);
  }
}

@Injectable()
export class SubmitOrderUseCase {
  private readonly logger = new Logger('OrderEntry');
  private readonly committed = new CommittedExposureReads();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly orders: OrderRepository,
    private readonly exposure: ExposureRepository,
    private readonly uow: UnitOfWork,
    private readonly dispatcher: PacedDispatchService,
    private readonly checks: PreTradeChecks,
    private readonly clock: Clock,
    private readonly metrics: GatewayMetrics,
    private readonly blockedSlices: BlockedSliceRecorder,
    private readonly guardedInserts: GuardedInsertQueue,
  ) {}

  async execute(
    cmd: OrderCommand,
    principal: Principal,
    ctx: ActorContext,
    opts: EntryOptions = {},
  ): Promise<SubmitOrderResult> {
    const dryRun = this.config.dryRun;
    const built = buildNewOrder(
      cmd,
      { strategyId: this.config.strategyId, status: dryRun ? 'dry_run' : 'pending_new' },
      this.clock.now(),
    );
    const withMeta: NewOrder = opts.metadata ? { ...built, metadata: { ...built.metadata, ...opts.metadata } } : built;
    const draft: NewOrder = opts.slice ? { ...withMeta, ...opts.slice } : withMeta;
    if (!principal.canAccessStrategy(draft.strategyId)) {
      this.metrics.orderRejected('STRATEGY_FORBIDDEN');
      throw new ForbiddenError(
        'STRATEGY_FORBIDDEN',
        `This API key may not submit orders for strategy "${draft.strategyId}"`,
      );
    }
    if (cmd.clientOrderId !== undefined && DERIVED_ID_FORMAT.test(cmd.clientOrderId)) {
      // Derived ids are computable from an order's terms and strategy: a key could otherwise probe
      // whether another strategy placed a given order today. Only this order's own derived id passes.
      // A retry that echoes an id the gateway derived on an earlier day, for an order of the
      // key's own strategies, is still a replay: answered as one (it reveals nothing outside the scope).
      const own = generateClientOrderId({ ...draft, at: draft.createdAt, idempotencyKey: cmd.idempotencyKey });
      if (cmd.clientOrderId !== own) {
        const existing = await this.orders.findByClientOrderId(cmd.clientOrderId);
        if (existing && principal.canAccessStrategy(existing.strategyId)) {
          const r = await this.existing(draft, principal);
          return { ...r, legs: await this.orders.findLegs(r.order.clientOrderId) };
        }
        this.metrics.orderRejected('CLIENT_ORDER_ID_UNAVAILABLE');
        throw unavailable(cmd.clientOrderId);
      }
    }
    const { order, created } = await this.admit(draft, principal, ctx, opts);
    const withLegs = async (r: Omit<SubmitOrderResult, 'legs'>): Promise<SubmitOrderResult> => ({
      ...r,
      legs: (r.order.orderClass ?? 'simple') === 'simple' ? [] : await this.orders.findLegs(r.order.clientOrderId),
    });
    if (created && order) {
      this.metrics.orderStatus(order.status);
      if (dryRun) return withLegs({ order, created: true, pending: false, message: 'Order logged (DRY_RUN mode)' });
      // Written ahead; now (outside any transaction) the broker.
      return withLegs((await this.send(order)).result);
    }
    return withLegs(await this.existing(draft, principal));
  }

  /**
   * Dispatches a written-ahead order (a new one or a replacement) within the
   * broker budget and answers what came of it: 503 when it was blocked or the broker refused the
   * credentials, pending (202) when the outcome is not known yet or it queued.
   */
  async send(order: Order): Promise<{ sent: DispatchResult | null; result: SubmitOrderResult }> {
    const sent = await this.dispatcher.dispatchOrQueue(order);
    if (!sent) return { sent, result: { order, created: true, pending: true, message: QUEUED_MESSAGE } };
    const message = sent.error
      ? `${DISPATCH_MESSAGES[sent.outcome]}: ${sent.error.message}`
      : DISPATCH_MESSAGES[sent.outcome];
    if (sent.outcome === 'blocked' && sent.block) {
      // Written, then kept from the broker by the re-check: the same 503 as a refusal, naming the order.
      this.metrics.orderRejected(sent.block.denial.code);
      throw new DomainError('unavailable', sent.block.denial.code, `${message}: ${sent.block.denial.message}`, {
        client_order_id: order.clientOrderId,
        status: sent.order.status,
        ...sent.block.denial.details,
      });
    }
    if (sent.outcome === 'failed') {
      throw new DomainError('unavailable', 'BROKER_UNAVAILABLE', message, {
        client_order_id: order.clientOrderId,
        status: sent.order.status,
      });
    }
    const pending = sent.outcome === 'unconfirmed' || sent.outcome === 'retry_scheduled';
    return { sent, result: { order: sent.order, created: true, pending, message } };
  }

  /**
   * The pre-trade checks and the insert in one unit of work, the checks judging
   * the exposure under the row locks the insert took (live), so it cannot
   * change before the commit. A refusal rolls the insert back and writes no
   * order row, unless the order already exists (a replay): then the insert
   * finds it and the caller answers with it.
   */
  private async admit(draft: NewOrder, principal: Principal, ctx: ActorContext, opts: EntryOptions): Promise<Insert> {
    const reduceOnly = opts.reduceOnly === true;
    const auditOf = (o: NewOrder): AuditEntry => ({
      action: 'order.accepted',
      actor: ctx.actor,
      requestId: ctx.requestId,
      details: {
        status: o.status,
        dry_run: this.config.dryRun,
        qty: o.qty,
        side: o.side,
        order_type: o.orderType,
        ...((o.orderClass ?? 'simple') !== 'simple' ? { order_class: o.orderClass } : {}),
        ...(o.legType ? { leg_type: o.legType, parent_order_id: o.parentOrderId } : {}),
      },
    });
    const accepted = (o: NewOrder, tx?: Tx) => this.orders.insertWithAudit(o, auditOf(o), tx);
    const legs = buildLegOrders(draft);
    // The entry and its legs are one write: all of them or none.
    const withLegs = async (tx: Tx): Promise<Insert> => {
      const written = await accepted(draft, tx);
      if (written.created) for (const leg of legs) await accepted(leg, tx);
      return written;
    };
    const insert = (tx?: Tx, order: NewOrder = draft): Promise<Insert> =>
      legs.length === 0 ? accepted(order, tx) : tx ? withLegs(tx) : this.uow.run(withLegs);
    const isOco = draft.orderClass === 'oco';
    if (!this.checks.enabled) {
      if (!isOco) return insert();
      return this.uow.run(async (tx) => {
        // Inserted first: the insert's trigger locks the symbol's exposure row, read then in this unit of work.
        const written = await insert(tx);
        if (written.created) {
          const held = exposureBefore(draft, await this.exposure.readInTx(tx, draft.symbol, draft.strategyId));
          assertExit(draft, await this.exposure.forReduceOnly(draft, held, tx));
        }
        return written;
      });
    }
    const early = this.checks.early();
    if (early) return this.refuse(draft, principal, ctx, early, insert, opts);

    const intent: OrderIntent = draft;
    const inputs = await this.checks.gather(intent);
    let outcome: { denial: Denial } | { written: Insert };
    try {
      if (this.config.dryRun) {
        // A dry_run order never opens exposure, so no lock is needed to keep two of them honest.
        const read = await this.committed.read(intent, () => this.exposure.read(intent.symbol, intent.strategyId));
        const exposure = await this.exposure.forReduceOnly(draft, read);
        if (isOco) assertExit(draft, exposure);
        if (reduceOnly) assertReduceOnly(draft, exposure);
        const denial = this.checks.decide(intent, inputs, exposure);
        outcome = denial ? { denial } : { written: await insert() };
      } else {
        // With the broker budget known spent, a simple order is written with its place in the queue
        // (metadata.paced_until) rather than held by a second statement after it (docs/broker-pacing.md).
        const hold = legs.length === 0 ? this.dispatcher.holdIfSpent() : null;
        const live = hold ? { ...draft, metadata: { ...draft.metadata, paced_until: hold.toISOString() } } : draft;
        const guarded =
          !reduceOnly && !isOco && legs.length === 0
            ? await this.admitGuarded(intent, inputs, (guard) => this.guardedInserts.insert(live, auditOf(live), guard))
            : null;
        outcome = guarded
          ? { written: guarded }
          : await this.uow.run(async (tx) => {
              // The insert counts the order in its symbol's exposure row (a trigger), which locks it until
              // this unit of work ends: the checks judge the symbol's exposure as it stood just before this
              // order, and no other order can move it until the commit (or the rollback a refusal causes).
              // The strategy's open-order count is read as committed and taken at commit, where a count past
              // the limit fails the commit (strategyLimitError). A replay inserts nothing, counts nothing.
              const written = await insert(tx, live);
              if (!written.created) return { written };
              const held = await this.exposure.readHeld(
                tx,
                intent.symbol,
                intent.strategyId,
                this.checks.maxOpenOrdersPerStrategy,
              );
              // The resting exit legs on its side count where the order could be reduce-only (read under the lock).
              const exposure = await this.exposure.forReduceOnly(draft, exposureBefore(intent, held), tx);
              if (isOco) assertExit(draft, exposure);
              if (reduceOnly) assertReduceOnly(draft, exposure);
              const denial = this.checks.decide(intent, inputs, exposure);
              if (denial) throw new Refused(denial);
              return { written };
            });
      }
    } catch (err) {
      const full = strategyLimitError(err);
      if (err instanceof Refused) outcome = { denial: err.denial };
      else if (full) {
        // The commit found the strategy's open orders at the limit (they grew since the count was read).
        outcome = {
          denial: openOrdersDenial(intent.strategyId, full.openOrders, this.checks.maxOpenOrdersPerStrategy),
        };
      } else if (err instanceof DomainError) throw err;
      else {
        // The exposure could not be read, or the order not written with it: nothing was written
        // (one transaction), and refusing is the safe side.
        this.logger.error(`pre-trade check of ${draft.clientOrderId} failed: ${(err as Error).message}`);
        throw new DomainError(
          'unavailable',
          'SAFETY_STATE_UNAVAILABLE',
          'The order could not be checked against the risk state and recorded (database unavailable); nothing was written, send it again later (cancels still pass)',
          { client_order_id: draft.clientOrderId },
        );
      }
    }
    if ('written' in outcome) return outcome.written;
    return this.refuse(draft, principal, ctx, outcome.denial, insert, opts);
  }

  /**
   * The fast path of a live order that adds exposure: judged against the committed counters (no lock; a
   * read up to a second old serves, CommittedExposureReads), then inserted under the guard of what the
   * counters must still allow once it is counted (ExposureGuard), which the insert's trigger checks on the
   * symbol's row, in one statement with the other such orders of its symbol waiting at that moment
   * (GuardedInsertQueue; each answered as its own insert would be): that row is held for the statement and
   * its commit only. Null when the order is to be judged under the row's lock
   * instead: the committed counters refuse it as an order that adds exposure (it may still pass as
   * reduce-only; a refusal is only ever decided under the lock), or the exposure moved past the guard
   * before the insert (nothing was written).
   */
  private async admitGuarded(
    intent: OrderIntent,
    inputs: PreTradeInputs,
    insert: (guard: InsertGuard) => Promise<Insert>,
  ): Promise<Insert | null> {
    // The committed counters as read at most a second ago: they only pick the way (the guard admits).
    const committed = await this.committed.read(intent, () => this.exposure.read(intent.symbol, intent.strategyId));
    const guard = this.checks.guard(intent, inputs, committed);
    if (!guard) return null;
    try {
      return await insert({ guard: guardSetting(guard), maxOpenOrders: this.checks.maxOpenOrdersPerStrategy });
    } catch (err) {
      if (isGuardError(err)) return null;
      throw err;
    }
  }

  private async refuse(
    draft: NewOrder,
    principal: Principal,
    ctx: ActorContext,
    denial: Denial,
    insert: () => Promise<Insert>,
    opts: EntryOptions,
  ): Promise<Insert> {
    // A replay of an order that already exists adds no exposure: it is answered with that order.
    if (await this.isReplay(draft, principal).catch(() => false)) return insert();
    const blocked = opts.slice ? SLICE_BLOCKS[denial.code] : undefined;
    if (blocked) return this.blockedSlices.record(draft, ctx, denial, blocked);
    throw await this.checks.refusal(draft, ctx, denial);
  }

  /** The answer when the client_order_id was already taken: the same order (200), or a conflict. */
  private async existing(draft: NewOrder, principal: Principal): Promise<Omit<SubmitOrderResult, 'legs'>> {
    const existing = await this.orders.findByClientOrderId(draft.clientOrderId);
    if (!existing) {
      // Only possible if the row vanished between the two statements; orders are never deleted.
      throw new Error(`order ${draft.clientOrderId} conflicted on insert but cannot be read`);
    }
    if (!principal.canAccessStrategy(existing.strategyId)) {
      // Outside the key's scope (GET answers 404): the answer of any id this key cannot use.
      this.metrics.orderRejected('CLIENT_ORDER_ID_UNAVAILABLE');
      throw unavailable(draft.clientOrderId);
    }
    const differs = differingTerms(existing, draft);
    if (differs.length) {
      this.metrics.orderRejected('CLIENT_ORDER_ID_CONFLICT');
      throw new ConflictError(
        'CLIENT_ORDER_ID_CONFLICT',
        `client_order_id ${draft.clientOrderId} already names an order with different ${differs.join(', ')}; ` +
          'send an idempotency_key or your own client_order_id to place a second order',
        { client_order_id: draft.clientOrderId, differing_fields: differs },
      );
    }
    return { order: existing, created: false, pending: false, message: 'Order already exists (idempotent replay)' };
  }

  /** The same order (same id, same terms, visible to this key) already exists. */
  private async isReplay(draft: NewOrder, principal: Principal): Promise<boolean> {
    const existing = await this.orders.findByClientOrderId(draft.clientOrderId);
    return (
      !!existing && principal.canAccessStrategy(existing.strategyId) && differingTerms(existing, draft).length === 0
    );
  }
}
