/**
 * Reconciliation as pure functions (docs/reconciliation.md): from the gateway's books (local
 * orders, recorded executions, positions) and the broker's reports (orders,
 * FILL activities, positions) to a list of corrections to apply and findings
 * to report. No I/O here; the service gathers the inputs, applies the
 * corrections through applyOrderUpdate (the one idempotent door) and stores
 * the findings.
 *
 * Invariants:
 * 1. Corrections only carry the broker's word: a fill the broker reported, a
 *    status the broker reported. Nothing is invented; in particular a
 *    position difference is a finding, never a correction (no trade is
 *    fabricated to paper over it).
 * 2. Idempotent: applying the corrections twice changes nothing the second
 *    time (fills dedupe on the execution id and on the cumulative filled
 *    quantity; status follows the transition table, which never moves back).
 * 3. Convergent: after the corrections are applied, reconciling the same
 *    broker reports again yields no corrections, and a state that already
 *    agrees with the broker yields no corrections and no findings.
 * 4. A fill is missing only if its execution id was never recorded AND the
 *    broker's cumulative quantity after it exceeds what the order has
 *    recorded: channels that share no id (stream execution ids, activity
 *    ids, polling) never cause a fill to be applied twice.
 * 5. Fills are proposed oldest first, so an order's cumulative quantity only
 *    grows along the broker's own sequence.
 * 6. Broker orders the gateway never sent (neither their id nor their
 *    client_order_id is known locally) are orphans: reported, never adopted
 *    and never cancelled here.
 * 7. Findings carry a deduplication key: the same orphan, fill or mismatch
 *    found in ten runs is one finding.
 * 8. Replaces (docs/order-lifecycle.md#replacing-an-order): a local order the
 *    broker reports `replaced` ends replaced (its replacement's correction,
 *    which adopts the replacement's broker id, comes first, so `replaced_by`
 *    can be named); a replacement known locally is never an orphan; a broker
 *    order that `replaces` an order the gateway knows, but whose own ids are
 *    unknown locally (the broker took the replace and its answer was never
 *    recorded), is adopted as that order's replacement (`adopt_replacement`),
 *    never reported as an orphan — the broker's word, not an invented order.
 * 9. Legs (bracket / oto / oco) are orders like any other once matched: a
 *    broker's leg (nested under its parent in the reports) speaks for the
 *    local leg row with its broker id, else for the parent's leg of its type
 *    (../../trading/order-class.ts#matchLeg). A leg the broker has under a
 *    known parent but the gateway has no row for is adopted under that parent
 *    (`adopt_leg`), never an orphan; the legs of an orphan are part of it.
 */
import { BrokerFill, BrokerOrder } from '../../broker/broker-client.port';
import { exact, plain } from '../../common/decimal';
import {
  fromBrokerStatus,
  GATEWAY_OUTCOMES,
  isTerminal,
  MAYBE_UNSENT_STATUSES,
  transition,
} from '../../trading/order-state-machine';
import { LEG_SUFFIX, LegType, matchLeg } from '../../trading/order-class';
import { OrderSide, OrderStatus } from '../../trading/order-status';

export const FINDING_KINDS = ['orphan', 'missing_fill', 'position_mismatch', 'status_mismatch'] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** What reconciliation needs of a local order. */
export interface LocalOrderView {
  clientOrderId: string;
  brokerOrderId: string | null;
  symbol: string;
  side: OrderSide;
  qty: string;
  status: OrderStatus;
  filledQty: string;
  filledAvgPrice: string | null;
  /** A leg's entry (and which leg it is); absent or null for every other order. */
  parentOrderId?: string | null;
  legType?: LegType | null;
}

export interface PositionView {
  symbol: string;
  /** Signed; negative = short. */
  qty: string;
  /** '0' when flat. */
  avgEntryPrice: string;
}

export interface Finding {
  kind: FindingKind;
  /** Same key, same finding: what deduplicates it across runs. */
  key: string;
  symbol: string;
  brokerOrderId: string | null;
  clientOrderId: string | null;
  local: Record<string, unknown> | null;
  broker: Record<string, unknown> | null;
}

/**
/**
 * A correction is always one broker report for applyOrderUpdate; an
 * `adopt_replacement` first records the broker's replacement order as a
 * local order (`replaces` = the local order it replaced), then applies it;
 * `adopt_leg` first writes the leg row (`<parent>-tp` / `-sl`) under its parent.
 */
export interface Correction {
  kind: 'apply_fill' | 'apply_status' | 'adopt_replacement' | 'adopt_leg';
  clientOrderId: string;
  /** adopt_replacement: the client_order_id of the local order it replaced. */
  replaces?: string;
  /** adopt_leg: the parent the leg is adopted under, and which leg it is. */
  leg?: { parentClientOrderId: string; legType: LegType };
  /** The order as the broker reports it (for a fill: cumulative after that execution). */
  order: BrokerOrder;
  execution: { executionId: string; qty: string; price: string } | null;
  at: Date;
  /** The finding the correction answers. */
  finding: Finding;
}

export interface OrderReconcileInput {
  /** Local orders the run looks at: every non-terminal one plus those the broker's fills name. */
  localOrders: readonly LocalOrderView[];
  /** Broker reports for orders (open list, recent list, lookups by id and client_order_id). */
  brokerOrders: readonly BrokerOrder[];
  /** Whether an id belongs to an order the gateway sent (any status, any age). */
  isKnown(ids: { clientOrderId: string | null; brokerOrderId: string | null }): boolean;
  /** FILL activities in the window. */
  brokerFills: readonly BrokerFill[];
  /** Execution ids already recorded (among those in brokerFills). */
  knownExecutionIds: ReadonlySet<string>;
}

export interface OrderReconcileResult {
  corrections: Correction[];
  /** Findings that need no correction (orphans, orders the broker does not know). */
  findings: Finding[];
}

const gt = (a: string, b: string): boolean => exact(a).gt(exact(b));

function byTime(a: BrokerFill, b: BrokerFill): number {
  const d = a.transactionTime.getTime() - b.transactionTime.getTime();
  if (d !== 0) return d;
  // Same instant: the cumulative quantity orders executions of one order.
  if (a.brokerOrderId === b.brokerOrderId && a.cumQty !== null && b.cumQty !== null) {
    return exact(a.cumQty).cmp(exact(b.cumQty));
  }
  return a.executionId < b.executionId ? -1 : a.executionId > b.executionId ? 1 : 0;
}

/** The broker report that speaks for a local order: by broker id first, then by client_order_id. */
export function matchReport(
  order: LocalOrderView,
  byId: ReadonlyMap<string, BrokerOrder>,
  byClientId: ReadonlyMap<string, BrokerOrder>,
): BrokerOrder | undefined {
  return (order.brokerOrderId ? byId.get(order.brokerOrderId) : undefined) ?? byClientId.get(order.clientOrderId);
}

/**
 * Orders and fills: missing fills (oldest first), then statuses the broker
 * moved on, then orphans and orders the broker does not know.
 */
export function reconcileOrders(input: OrderReconcileInput): OrderReconcileResult {
  const { reports, adoptions } = withLegs(input.brokerOrders, input.localOrders);
  const byId = new Map<string, BrokerOrder>();
  const byClientId = new Map<string, BrokerOrder>();
  for (const o of reports) {
    byId.set(o.id, o);
    byClientId.set(o.clientOrderId, o);
  }
  const locals = new Map<string, LocalOrderView>();
  const localByBrokerId = new Map<string, LocalOrderView>();
  for (const o of input.localOrders) {
    locals.set(o.clientOrderId, o);
    if (o.brokerOrderId) localByBrokerId.set(o.brokerOrderId, o);
  }
  // A broker report names a local order by its client_order_id too (before the broker id was adopted).
  for (const o of reports) {
    const local = locals.get(o.clientOrderId);
    if (local && !localByBrokerId.has(o.id)) localByBrokerId.set(o.id, local);
  }

  const corrections: Correction[] = [...adoptions];
  const findings: Finding[] = [];
  /** Cumulative filled quantity per order as the proposed fills raise it. */
  const running = new Map<string, string>();

  for (const fill of [...input.brokerFills].sort(byTime)) {
    const local = localByBrokerId.get(fill.brokerOrderId);
    if (!local || GATEWAY_OUTCOMES.has(local.status)) continue; // orphans are reported from their order below
    if (input.knownExecutionIds.has(fill.executionId)) continue;
    const known = running.get(local.clientOrderId) ?? local.filledQty;
    const cum = fill.cumQty ?? plain(exact(known).plus(exact(fill.qty)));
    if (!gt(cum, known)) continue;
    // Executions before this one that are missing too come first (oldest first). If some are outside the
    // window, this one cannot be priced alone: the order's own report (with its average) covers the gap.
    if (exact(cum).minus(exact(fill.qty)).gt(exact(known))) continue;
    running.set(local.clientOrderId, cum);
    const complete = !gt(local.qty, cum);
    const report = byId.get(fill.brokerOrderId) ?? byClientId.get(local.clientOrderId);
    const order: BrokerOrder = {
      ...(report ?? syntheticOrder(local, fill)),
      id: fill.brokerOrderId,
      clientOrderId: local.clientOrderId,
      status: complete ? 'filled' : 'partially_filled',
      filledQty: cum,
      // The average is derived from the execution (the increment is exactly this fill).
      filledAvgPrice: null,
      filledAt: complete ? fill.transactionTime : null,
    };
    corrections.push({
      kind: 'apply_fill',
      clientOrderId: local.clientOrderId,
      order,
      execution: { executionId: fill.executionId, qty: fill.qty, price: fill.price },
      at: fill.transactionTime,
      finding: {
        kind: 'missing_fill',
        key: `missing_fill:${fill.executionId}`,
        symbol: local.symbol,
        brokerOrderId: fill.brokerOrderId,
        clientOrderId: local.clientOrderId,
        local: { filled_qty: known, status: local.status },
        broker: {
          execution_id: fill.executionId,
          qty: fill.qty,
          price: fill.price,
          cum_qty: cum,
          transaction_time: fill.transactionTime.toISOString(),
        },
      },
    });
  }

  // Replacements first: adopting a replacement's broker id lets its old order's `replaced` name it.
  const replacementsFirst = [...input.localOrders].sort(
    (a, b) => Number(!matchReport(a, byId, byClientId)?.replaces) - Number(!matchReport(b, byId, byClientId)?.replaces),
  );
  for (const local of replacementsFirst) {
    if (GATEWAY_OUTCOMES.has(local.status) || isTerminal(local.status)) continue;
    const report = matchReport(local, byId, byClientId);
    if (!report) {
      if (!MAYBE_UNSENT_STATUSES.has(local.status)) {
        findings.push({
          kind: 'status_mismatch',
          key: `status_mismatch:${local.clientOrderId}:unknown_at_broker`,
          symbol: local.symbol,
          brokerOrderId: local.brokerOrderId,
          clientOrderId: local.clientOrderId,
          local: { status: local.status, filled_qty: local.filledQty },
          broker: null,
        });
      }
      continue;
    }
    const reported = fromBrokerStatus(report.status);
    const afterFills = running.get(local.clientOrderId) ?? local.filledQty;
    const statusMoves = reported !== null && transition(local.status, reported).applied;
    const fillMoves = gt(report.filledQty, afterFills);
    const adopts = local.brokerOrderId === null;
    if (!statusMoves && !fillMoves && !adopts) continue;
    corrections.push({
      kind: 'apply_status',
      clientOrderId: local.clientOrderId,
      order: report,
      execution: null,
      at: report.updatedAt ?? report.createdAt,
      finding: {
        kind: 'status_mismatch',
        key: `status_mismatch:${local.clientOrderId}:${report.status}:${report.filledQty}`,
        symbol: local.symbol,
        brokerOrderId: report.id,
        clientOrderId: local.clientOrderId,
        local: { status: local.status, filled_qty: local.filledQty, broker_order_id: local.brokerOrderId },
        broker: { status: report.status, filled_qty: report.filledQty, filled_avg_price: report.filledAvgPrice },
      },
    });
  }

  const seen = new Set<string>();
  const adoptedLegs = new Set(adoptions.map((a) => a.order.id));
  // Oldest first, so a chain of replaces the books never heard of is adopted link by link.
  for (const o of [...input.brokerOrders].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())) {
    if (seen.has(o.id)) continue;
    seen.add(o.id);
    if (locals.has(o.clientOrderId) || localByBrokerId.has(o.id) || adoptedLegs.has(o.id)) continue;
    if (input.isKnown({ clientOrderId: o.clientOrderId, brokerOrderId: o.id })) continue;
    const replaced = o.replaces ? localByBrokerId.get(o.replaces) : undefined;
    if (replaced && !GATEWAY_OUTCOMES.has(replaced.status)) {
      const adopted: LocalOrderView = {
        clientOrderId: o.clientOrderId,
        brokerOrderId: o.id,
        symbol: o.symbol,
        side: o.side,
        qty: o.qty ?? '0',
        status: 'submitted',
        filledQty: '0',
        filledAvgPrice: null,
      };
      localByBrokerId.set(o.id, adopted);
      corrections.push({
        kind: 'adopt_replacement',
        clientOrderId: o.clientOrderId,
        replaces: replaced.clientOrderId,
        order: o,
        execution: null,
        at: o.updatedAt ?? o.createdAt,
        finding: {
          kind: 'status_mismatch',
          key: `status_mismatch:${o.clientOrderId}:adopted_replacement`,
          symbol: o.symbol,
          brokerOrderId: o.id,
          clientOrderId: o.clientOrderId,
          local: null,
          broker: { status: o.status, replaces: o.replaces, replaced_client_order_id: replaced.clientOrderId },
        },
      });
      continue;
    }
    findings.push(orphanFinding(o));
  }
  return { corrections, findings };
}

/**
 * The reports with each known parent's legs beside it, each under the id of
 * the local leg it speaks for; a leg with no local row becomes an adoption.
 * Legs of a parent the gateway does not know stay nested (part of its orphan).
 */
export function withLegs(
  brokerOrders: readonly BrokerOrder[],
  localOrders: readonly LocalOrderView[],
): { reports: BrokerOrder[]; adoptions: Correction[] } {
  const reports: BrokerOrder[] = [];
  const adoptions: Correction[] = [];
  const byClientId = new Map(localOrders.map((o) => [o.clientOrderId, o]));
  const byBrokerId = new Map(localOrders.flatMap((o) => (o.brokerOrderId ? [[o.brokerOrderId, o] as const] : [])));
  for (const o of brokerOrders) {
    reports.push(o);
    const parent = byBrokerId.get(o.id) ?? byClientId.get(o.clientOrderId);
    if (!parent || !o.legs?.length) continue;
    const localLegs = localOrders
      .filter((l) => l.parentOrderId === parent.clientOrderId && l.legType)
      .map((l) => ({ ...l, legType: l.legType! }));
    const taken = new Set<string>();
    for (const leg of o.legs) {
      const local =
        byBrokerId.get(leg.id) ??
        matchLeg(
          leg,
          localLegs.filter((l) => !taken.has(l.clientOrderId)),
        );
      if (local) {
        taken.add(local.clientOrderId);
        reports.push({ ...leg, clientOrderId: local.clientOrderId, legs: undefined });
        continue;
      }
      const legType: LegType | null =
        leg.type === 'limit' ? 'take_profit' : leg.type === 'stop' || leg.type === 'stop_limit' ? 'stop_loss' : null;
      if (!legType) continue;
      const clientOrderId = `${parent.clientOrderId}${LEG_SUFFIX[legType]}`;
      if (byClientId.has(clientOrderId)) continue; // a row of that leg exists (already matched to another broker leg)
      adoptions.push({
        kind: 'adopt_leg',
        clientOrderId,
        leg: { parentClientOrderId: parent.clientOrderId, legType },
        order: { ...leg, clientOrderId, legs: undefined },
        execution: null,
        at: leg.updatedAt ?? leg.createdAt,
        finding: {
          kind: 'status_mismatch',
          key: `status_mismatch:${clientOrderId}:adopted_leg:${leg.id}`,
          symbol: leg.symbol,
          brokerOrderId: leg.id,
          clientOrderId,
          local: null,
          broker: {
            status: leg.status,
            type: leg.type,
            side: leg.side,
            qty: leg.qty,
            parent_order_id: parent.clientOrderId,
          },
        },
      });
    }
  }
  return { reports, adoptions };
}

export function orphanFinding(o: BrokerOrder): Finding {
  return {
    kind: 'orphan',
    key: `orphan:${o.id}`,
    symbol: o.symbol,
    brokerOrderId: o.id,
    clientOrderId: o.clientOrderId,
    local: null,
    broker: {
      status: o.status,
      side: o.side,
      qty: o.qty,
      type: o.type,
      limit_price: o.limitPrice,
      filled_qty: o.filledQty,
      filled_avg_price: o.filledAvgPrice,
      created_at: o.createdAt.toISOString(),
    },
  };
}

function syntheticOrder(local: LocalOrderView, fill: BrokerFill): BrokerOrder {
  return {
    id: fill.brokerOrderId,
    clientOrderId: local.clientOrderId,
    symbol: local.symbol,
    side: local.side,
    type: 'market',
    timeInForce: 'day',
    qty: local.qty,
    limitPrice: null,
    stopPrice: null,
    status: 'partially_filled',
    filledQty: '0',
    filledAvgPrice: null,
    createdAt: fill.transactionTime,
    updatedAt: fill.transactionTime,
    submittedAt: null,
    filledAt: null,
    canceledAt: null,
    replacedBy: null,
    replaces: null,
  };
}
