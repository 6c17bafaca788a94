/**
 * The one door through which broker news changes an order: the stream,
 * webhooks, polling, reconciliation and the submit path's own answer all call
 * `apply` (or `recordSubmitOutcome`). It loads (the order locked; the
 * symbol's position locked when a fill is possible), lets the pure decision
 * (../domain/order-update.decision.ts, where the invariants are listed)
 * decide, and writes what it decided in one unit of work: the order, its
 * fill, the position, the outbox events and the audit rows together, and
 * nothing slow inside.
 *
 * The fills table's unique keys decide whether a fill is new: when the insert
 * finds it already recorded, the decision is taken again without it.
 *
 * Legs (bracket, oto, oco): a broker report of an entry that carries its legs
 * is applied to the entry, then each leg to its own row (matched by the
 * broker's leg id, else by its type, ../../trading/order-class.ts#matchLeg),
 * which then holds the leg's broker id: later news of the leg by that id
 * lands on it. The gateway's own word on an entry never sent (rejected,
 * blocked, failed, canceled before it was sent) ends its legs alike.
 */
import { Injectable, Logger } from '@nestjs/common';
import { AuditEntry } from '../../audit/audit-entry';
import { AuditRepository } from '../../audit/audit.repository';
import { OrderEventPublisher } from '../../events/order-event.publisher';
import { NewOrderEvent, OrderEventRepository } from '../../events/persistence/order-event.repository';
import { Clock } from '../../infra/clock/clock';
import { Tx, UnitOfWork } from '../../infra/database/unit-of-work';
import { GatewayMetrics } from '../../infra/metrics/gateway-metrics';
import { PositionState } from '../../positions/domain/position-math';
import { PositionRepository } from '../../positions/persistence/position.repository';
import { Order } from '../../trading/order';
import { OrderStatus } from '../../trading/order-status';
import { adoptedReplacement, replacementHolds } from '../../trading/order-replace';
import { decideReplaced } from '../domain/order-replaced.decision';
import { matchLeg } from '../../trading/order-class';
import { isTerminal } from '../../trading/order-state-machine';
import {
  decideOrderUpdate,
  FillRecord,
  decideSubmitOutcome,
  mayRecordFill,
  OrderUpdateDecision,
  OrderUpdateReport,
  PositionWrite,
  SubmitOutcomeOptions,
} from '../domain/order-update.decision';
import { FillRepository } from '../persistence/fill.repository';
import { OrderLifecycleChange, OrderRepository } from '../persistence/order.repository';

export type { OrderUpdateReport, UpdateSource } from '../domain/order-update.decision';

export interface ApplyOptions {
  /**
   * Runs inside the unit of work right after a fill is recorded and the
   * position saved (reconciliation rebuilds the symbol's position from its
   * fills in execution order there, for fills recovered late).
   */
  onFillRecorded?: (tx: Tx, symbol: string) => Promise<void>;
}

export interface ApplyResult {
  outcome: 'applied' | 'unchanged' | 'unknown_order';
  status?: OrderStatus;
  fillsRecorded: number;
  /**
   * The order as its unit of work left it, after every report of that unit of work (what a read right
   * after the commit would see); absent for an unknown order.
   */
  order?: Order;
}

type Decided = { outcome: 'unknown_order' } | OrderUpdateDecision;

/** What the reports of one unit of work share: `apply` has one report, `applyMany` a batch. */
interface UnitState {
  /** The symbols' positions, locked, as the reports so far left them. */
  positions: Map<string, PositionState>;
  /** A batch: its orders as locked, each as the reports so far left it, and the writes kept for its end. */
  batch?: {
    orders: Map<string, Order>;
    positions: Map<string, PositionWrite>;
    /** The fills to record, in report order, and each changed order's last change: written at the end. */
    fills: FillRecord[];
    changed: Map<string, OrderLifecycleChange>;
    events: NewOrderEvent[];
    audit: AuditEntry[];
  };
}

/** A report applied in a unit of work, and the replace it completed (recorded after the commit). */
type Applied = {
  decided: Decided;
  replaced: { old: string; replacement: string } | null;
  /** The gateway's id of the order the report was applied to. */
  clientOrderId?: string;
  /** The order as the report left it. */
  order?: Order;
};

@Injectable()
export class ApplyOrderUpdateUseCase {
  private readonly logger = new Logger('ApplyOrderUpdate');

  constructor(
    private readonly uow: UnitOfWork,
    private readonly orders: OrderRepository,
    private readonly fills: FillRepository,
    private readonly positions: PositionRepository,
    private readonly events: OrderEventRepository,
    private readonly publisher: OrderEventPublisher,
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
    private readonly metrics: GatewayMetrics,
  ) {}

  /** The gateway's own word on an order it is sending (see decideSubmitOutcome). */
  async recordSubmitOutcome(
    clientOrderId: string,
    status: OrderStatus,
    opts: SubmitOutcomeOptions & { leg?: boolean } = {},
  ): Promise<ApplyResult> {
    const d: Decided = await this.uow.run(async (tx) => {
      const order = await this.orders.lockForUpdate(tx, { clientOrderId });
      if (!order) return { outcome: 'unknown_order' as const };
      const decision = decideSubmitOutcome(order, status, opts, this.clock.now());
      await this.write(tx, clientOrderId, decision, {});
      return decision;
    });
    if (d.outcome === 'unknown_order') return { outcome: d.outcome, fillsRecorded: 0 };
    if (d.outcome === 'applied' && d.status !== d.previousStatus) {
      this.metrics.orderStatus(d.status);
      this.publisher.kick();
      // An entry that ends without reaching the broker takes its (never sent) legs with it.
      if (isTerminal(d.status) && !opts.leg) await this.endUnsentLegs(clientOrderId, d.status, opts);
    }
    return { outcome: d.outcome, status: d.status, fillsRecorded: 0 };
  }

  private async endUnsentLegs(parentId: string, status: OrderStatus, opts: SubmitOutcomeOptions): Promise<void> {
    for (const leg of await this.orders.findLegs(parentId)) {
      if (leg.brokerOrderId || isTerminal(leg.status)) continue;
      await this.recordSubmitOutcome(leg.clientOrderId, status, { ...opts, leg: true });
    }
  }

  async apply(r: OrderUpdateReport, opts: ApplyOptions = {}): Promise<ApplyResult> {
    const applied = await this.uow.run((tx) => this.applyIn(tx, r, opts, { positions: new Map() }));
    const result = await this.after(applied, r);
    await this.legsOf(applied, r, opts);
    return result;
  }

  /** The legs the broker reported with an order, each onto its own row (after the order's own news). */
  private async legsOf(applied: Applied, r: OrderUpdateReport, opts: ApplyOptions): Promise<void> {
    if (applied.decided.outcome === 'unknown_order' || !r.order.legs?.length || !applied.clientOrderId) return;
    await this.applyLegs(applied.clientOrderId, r, opts);
  }

  /**
   * Several reports in one unit of work, in the order given (the stream's
   * updates of one symbol that waited behind each other): their orders are
   * locked and read first, in one statement and one fixed order, then each
   * report is decided against the order and the position the previous ones
   * left, so a busy symbol's position row is locked and committed once per
   * batch rather than once per fill. Nothing is written per report: at the
   * end, the fills in one INSERT (in report order), each changed order's row
   * in one UPDATE (as its last change left it), each changed position once,
   * and the outbox events and audit rows in one INSERT each (in report order).
   * The counters these move are moved at commit (migration 1765700000000),
   * symbol first, then strategy. Each report comes out exactly as `apply`
   * would leave it, one after the other; if the unit of work fails (a fill
   * decided as new was recorded meanwhile by another path, say), each report
   * is applied again on its own.
   */
  async applyMany(reports: OrderUpdateReport[]): Promise<ApplyResult[]> {
    if (reports.length === 1) return [await this.apply(reports[0])];
    let applied: Applied[];
    try {
      applied = await this.uow.run(async (tx) => {
        const locked = await this.orders.lockMany(
          tx,
          reports.map((r) => r.order.clientOrderId),
        );
        const batch: NonNullable<UnitState['batch']> = {
          orders: new Map(locked.map((o) => [o.clientOrderId, o])),
          positions: new Map(),
          fills: [],
          changed: new Map(),
          events: [],
          audit: [],
        };
        const unit: UnitState = { positions: new Map(), batch };
        const out: Applied[] = [];
        for (const r of reports) out.push(await this.applyIn(tx, r, {}, unit));
        // Each order as the whole batch leaves it.
        for (const a of out) if (a.clientOrderId) a.order = batch.orders.get(a.clientOrderId) ?? a.order;
        // Every write of the batch in one statement (one round trip): its fills, each changed order, each
        // position, the events and the audit rows, each in the order decided.
        const written = await this.uow.together(tx, [
          ...(batch.fills.length
            ? [{ name: 'fills', statement: this.fills.insertManyStatement(batch.fills), count: true }]
            : []),
          ...(batch.changed.size
            ? [
                {
                  name: 'orders',
                  statement: this.orders.updateLifecycleManyStatement(
                    [...batch.changed].map(([clientOrderId, change]) => ({ clientOrderId, change })),
                  ),
                },
              ]
            : []),
          ...[...batch.positions].map(([symbol, p], i) => ({
            name: `position${i}`,
            statement: this.positions.saveStatement(symbol, p.position, p.tradeAt, p.updatedAt),
          })),
          ...this.events.appendManyStatements(batch.events).map((statement, i) => ({ name: `events${i}`, statement })),
          ...this.audit.appendManyStatements(batch.audit).map((statement, i) => ({ name: `audit${i}`, statement })),
        ]);
        // Each fill was decided as new against the orders it locked; one recorded meanwhile by another path
        // makes the batch fail (rolled back), and each report is then applied alone (and decided knowing it).
        const recorded = written.fills ?? 0;
        if (recorded !== batch.fills.length) {
          throw new Error(`${batch.fills.length - recorded} fill(s) of the batch were already recorded`);
        }
        return out;
      });
    } catch (err) {
      this.logger.warn(`a batch of ${reports.length} updates failed (${(err as Error).message}); applying each alone`);
      const results: ApplyResult[] = [];
      for (const r of reports) results.push(await this.apply(r));
      return results;
    }
    const results: ApplyResult[] = [];
    for (let i = 0; i < applied.length; i++) {
      results.push(await this.after(applied[i], reports[i]));
      await this.legsOf(applied[i], reports[i], {});
    }
    return results;
  }

  /** Each leg the broker reported with its entry, onto its own row (a leg it cannot match is logged and left). */
  private async applyLegs(parentId: string, r: OrderUpdateReport, opts: ApplyOptions): Promise<void> {
    const local = await this.orders.findLegs(parentId);
    const taken = new Set<string>();
    for (const brokerLeg of r.order.legs ?? []) {
      const leg = matchLeg(
        brokerLeg,
        local.filter((l) => !taken.has(l.clientOrderId)).map((l) => ({ ...l, legType: l.legType ?? 'take_profit' })),
      );
      if (!leg) {
        this.logger.warn({
          client_order_id: parentId,
          msg: `broker leg ${brokerLeg.id} (${brokerLeg.type}) matches no leg`,
        });
        continue;
      }
      taken.add(leg.clientOrderId);
      // The leg's news, under the gateway's id for it (the broker's client id for a leg is its own).
      await this.apply(
        { source: r.source, at: r.at, order: { ...brokerLeg, clientOrderId: leg.clientOrderId, legs: undefined } },
        opts,
      );
    }
  }

  /**
   * One report in `tx`: the order locked (in a batch, already locked and read, unless the report names it only
   * by its broker id), the position locked (once per symbol per unit of work) when a fill is possible.
   */
  private async applyIn(tx: Tx, r: OrderUpdateReport, opts: ApplyOptions, unit: UnitState): Promise<Applied> {
    const { positions, batch } = unit;
    const order =
      batch?.orders.get(r.order.clientOrderId) ??
      (await this.orders.lockForUpdate(tx, {
        clientOrderId: r.order.clientOrderId,
        brokerOrderId: r.order.id,
      }));
    if (!order) return { decided: { outcome: 'unknown_order' as const }, replaced: null };
    let position: PositionState | null = null;
    if (mayRecordFill(order, r)) {
      position = positions.get(order.symbol) ?? (await this.positions.lockOrCreate(tx, order.symbol));
      positions.set(order.symbol, position);
    }
    const now = this.clock.now();
    // The broker names the replacement by its own id: the local order that has it, if any yet.
    const replacement =
      r.order.status === 'replaced' && r.order.replacedBy && !order.replacedBy
        ? ((await this.orders.findByBrokerOrderId(r.order.replacedBy))?.clientOrderId ?? null)
        : null;
    let decision = decideOrderUpdate({ order, position, report: r, now, replacement });
    if (decision.fill && batch) batch.fills.push(decision.fill);
    else if (decision.fill && !(await this.fills.insert(tx, decision.fill))) {
      decision = decideOrderUpdate({ order, position, report: r, now, fillAlreadyRecorded: true, replacement });
    }
    await this.write(tx, order.clientOrderId, decision, opts, batch);
    if (decision.positionChange) positions.set(decision.positionChange.symbol, decision.positionChange.position);
    let after = order;
    if (decision.outcome === 'applied' && decision.patch) {
      // The row as the update just left it (updateLifecycle): the next report of this order is decided against it.
      const { replacedBy, ...patch } = decision.patch;
      after = { ...order, ...patch, replacedBy: replacedBy ?? order.replacedBy };
      batch?.orders.set(order.clientOrderId, after);
    }
    let replaced: Applied['replaced'] = null;
    if (decision.outcome === 'applied' && order.replaces && decision.patch?.brokerOrderId) {
      // A replacement the broker has: its old order was replaced (invariant 9 of the decision).
      if (replacementHolds({ status: decision.status, brokerOrderId: decision.patch.brokerOrderId })) {
        replaced = { old: order.replaces, replacement: order.clientOrderId };
      }
    }
    return { decided: decision, replaced, clientOrderId: order.clientOrderId, order: after };
  }

  private async after({ decided: d, replaced, order }: Applied, r: OrderUpdateReport): Promise<ApplyResult> {
    if (d.outcome === 'unknown_order') return { outcome: d.outcome, fillsRecorded: 0 };
    for (const w of d.warnings) this.logger.warn(w);
    if (d.outcome === 'applied' && d.status !== d.previousStatus) this.metrics.orderStatus(d.status);
    // Events were written with the change: publish them now rather than at the next poll.
    if (d.outcome === 'applied') this.publisher.kick();
    if (replaced) await this.recordReplaced(replaced.old, replaced.replacement, r.source);
    return { outcome: d.outcome, status: d.status, fillsRecorded: d.fill ? 1 : 0, order };
  }

  /**
   * Reconciliation found a replacement the broker has and the books do not
   * (the broker took the replace, its answer was never recorded): it is
   * recorded as the replacement of `replacedClientOrderId` (audited
   * `order.replacement_adopted`), then the broker's report is applied to it,
   * which ends the old order `replaced`. Null when the broker's order cannot
   * be held as one of the gateway's (it stays an orphan).
   */
  async adoptReplacement(replacedClientOrderId: string, r: OrderUpdateReport): Promise<ApplyResult | null> {
    const old = await this.orders.findByClientOrderId(replacedClientOrderId);
    const draft = old ? adoptedReplacement(old, r.order) : null;
    if (!draft) return null;
    await this.orders.insertWithAudit(draft, {
      action: 'order.replacement_adopted',
      actor: `broker:${r.source}`,
      details: {
        replaces: replacedClientOrderId,
        broker_order_id: r.order.id,
        status: r.order.status,
        qty: draft.qty,
        order_type: draft.orderType,
      },
    });
    return this.apply(r);
  }

  /**
   * The broker accepted `replacement` as the replacement of `clientOrderId`:
   * the old order ends `replaced` with `replaced_by` (idempotent; see decideReplaced).
   */
  async recordReplaced(
    clientOrderId: string,
    replacement: string,
    source: OrderUpdateReport['source'],
  ): Promise<ApplyResult> {
    const d: Decided = await this.uow.run(async (tx) => {
      const order = await this.orders.lockForUpdate(tx, { clientOrderId });
      if (!order) return { outcome: 'unknown_order' as const };
      const decision = decideReplaced(order, replacement, source, this.clock.now());
      await this.write(tx, clientOrderId, decision, {});
      return decision;
    });
    if (d.outcome === 'unknown_order') return { outcome: d.outcome, fillsRecorded: 0 };
    if (d.outcome === 'applied' && d.status !== d.previousStatus) this.metrics.orderStatus(d.status);
    if (d.outcome === 'applied') this.publisher.kick();
    return { outcome: d.outcome, status: d.status, fillsRecorded: 0 };
  }

  /**
   * Writes a decision (its fill, if any, is already inserted). In a batch, the position, the events and the
   * audit rows are kept for the batch's end (`applyMany`), which takes no options.
   */
  private async write(
    tx: Tx,
    clientOrderId: string,
    d: OrderUpdateDecision,
    opts: ApplyOptions,
    batch?: UnitState['batch'],
  ): Promise<void> {
    if (d.outcome === 'unchanged') return;
    if (batch) {
      if (d.positionChange) batch.positions.set(d.positionChange.symbol, d.positionChange);
      if (d.patch) {
        // The order's row ends as its last change leaves it (each change sets every lifecycle field).
        const before = batch.changed.get(clientOrderId);
        batch.changed.set(clientOrderId, { ...d.patch, replacedBy: d.patch.replacedBy ?? before?.replacedBy });
      }
      if (d.nextAttemptAt !== undefined) await this.orders.setNextAttempt(tx, clientOrderId, d.nextAttemptAt);
      batch.events.push(...d.events);
      batch.audit.push(...d.audit);
      return;
    }
    if (d.positionChange) {
      const p = d.positionChange;
      await this.positions.save(tx, p.symbol, p.position, p.tradeAt, p.updatedAt);
      if (opts.onFillRecorded) await opts.onFillRecorded(tx, p.symbol);
    }
    if (d.patch) await this.orders.updateLifecycle(tx, clientOrderId, d.patch);
    if (d.nextAttemptAt !== undefined) await this.orders.setNextAttempt(tx, clientOrderId, d.nextAttemptAt);
    for (const e of d.events) await this.events.append(tx, e);
    for (const a of d.audit) await this.audit.append(a, tx);
  }
}
