/**
 * One reconciliation pass (docs/reconciliation.md): read the broker's reports, compare them
 * with the books through the pure core, apply the corrections through
 * applyOrderUpdate (the one idempotent door) and record the findings.
 *
 * Every broker call happens outside any transaction; each correction is its
 * own short transaction inside applyOrderUpdate. The caller holds the run
 * lock, so two passes never overlap.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { BROKER_CLIENT, BrokerClient, BrokerFill, BrokerOrder, BrokerPosition } from '../../broker/broker-client.port';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Clock } from '../../infra/clock/clock';
import { Scheduler } from '../../infra/clock/scheduler';
import { Tx } from '../../infra/database/unit-of-work';
import { FillRepository } from '../../orders/persistence/fill.repository';
import { OrderRepository } from '../../orders/persistence/order.repository';
import { buildLegOrders } from '../../trading/order';
import { ApplyOrderUpdateUseCase } from '../../orders/use-cases/apply-order-update.use-case';
import { rebuildPosition } from '../../positions/domain/position-rebuild';
import { PositionRepository } from '../../positions/persistence/position.repository';
import { positionsAtQuietCut } from '../domain/position-cut';
import { comparePositions } from '../domain/compare-positions';
import { Correction, Finding, matchReport, orphanFinding, reconcileOrders } from '../domain/reconcile';
import { FindingsRepository } from '../persistence/findings.repository';
import { LocalBooksRepository } from '../persistence/local-books.repository';
import { ReconciliationMetrics } from '../reconciliation.metrics';

/** Alpaca's page limit for GET /v2/orders. */
const ORDERS_PAGE = 500;
const MAX_ORDER_PAGES = 20;
const MAX_FILL_PAGES = 200;
const FILLS_PAGE = 100;
/** Broker lookups in flight at once (individual orders). */
const LOOKUP_CONCURRENCY = 8;
/** How far back closed orders are read to find orphans that already finished. */
const RECENT_ORDERS_MS = 24 * 3600_000;
/** Without a cursor (first run, or a backfill without `since`): fills of the last day. */
const DEFAULT_FILLS_LOOKBACK_MS = 24 * 3600_000;
/** A position difference is re-read once after this pause before it is reported (fills in flight). */
const POSITION_RECHECK_MS = 300;
/**
 * A symbol with activity (a local order written or changed, an execution at
 * the broker) from this long before the first position read to the end of
 * the re-read is not judged in this run: fills may be on their way.
 */
export const POSITION_QUIET_MS = 10_000;

export interface RunSummary {
  mode: 'full' | 'fills' | 'dry_run';
  orders_checked: number;
  broker_orders_seen: number;
  broker_lookups: number;
  fills_seen: number;
  fills_applied: number;
  statuses_applied: number;
  orphans: number;
  unknown_at_broker: number;
  position_mismatches: number;
  /** Symbols whose position differed while they traded: judged by a later run. */
  positions_deferred: number;
  new_findings: number;
  correction_errors: number;
  fills_since: string | null;
}

export interface RunResult {
  summary: RunSummary;
  /** The newest execution seen: where the next pass's window starts (minus the overlap). */
  fillsCursor: Date | null;
}

@Injectable()
export class ReconcileUseCase {
  private readonly logger = new Logger('Reconciliation');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BROKER_CLIENT) private readonly broker: BrokerClient,
    private readonly books: LocalBooksRepository,
    private readonly findings: FindingsRepository,
    private readonly fills: FillRepository,
    private readonly positionsRepo: PositionRepository,
    private readonly updates: ApplyOrderUpdateUseCase,
    private readonly metrics: ReconciliationMetrics,
    private readonly clock: Clock,
    private readonly scheduler: Scheduler,
    private readonly orders: OrderRepository,
  ) {}

  /**
   * `full`: orders, fills, orphans and positions. `fills`: the fills backfill
   * alone, from `since` (default: the stored cursor minus the overlap).
   * Throws when the broker cannot be read; corrections that fail one by one
   * are counted and logged, and the pass goes on.
   */
  async execute(mode: 'full' | 'fills', opts: { since?: Date; cursor: Date | null }): Promise<RunResult> {
    const summary: RunSummary = {
      mode,
      orders_checked: 0,
      broker_orders_seen: 0,
      broker_lookups: 0,
      fills_seen: 0,
      fills_applied: 0,
      statuses_applied: 0,
      orphans: 0,
      unknown_at_broker: 0,
      position_mismatches: 0,
      positions_deferred: 0,
      new_findings: 0,
      correction_errors: 0,
      fills_since: null,
    };
    if (this.config.dryRun) {
      // Nothing was ever sent: there is no broker state to compare the books with.
      return { summary: { ...summary, mode: 'dry_run' }, fillsCursor: null };
    }
    const now = this.clock.now();
    const overlapMs = this.config.reconciliation.fillsOverlapSeconds * 1000;
    const since =
      opts.since ??
      (opts.cursor ? new Date(opts.cursor.getTime() - overlapMs) : new Date(now.getTime() - DEFAULT_FILLS_LOOKBACK_MS));
    summary.fills_since = since.toISOString();

    // --- the broker's word (no transaction open) ---
    const brokerOrders = new Map<string, BrokerOrder>();
    const addOrders = (list: Iterable<BrokerOrder>) => {
      for (const o of list) brokerOrders.set(o.id, o);
    };
    if (mode === 'full') {
      addOrders(await this.listOpenOrders());
      addOrders(
        await this.broker.listOrders({
          status: 'all',
          after: new Date(now.getTime() - RECENT_ORDERS_MS),
          limit: ORDERS_PAGE,
        }),
      );
    }
    const fills = await this.listFills(since);
    summary.fills_seen = fills.length;

    // --- the books ---
    const open = mode === 'full' ? await this.books.openOrders() : [];
    const legIds = [...brokerOrders.values()].flatMap((o) => (o.legs ?? []).map((l) => l.id));
    const referenced = await this.books.ordersByIds(
      [...brokerOrders.values()].map((o) => o.clientOrderId),
      [
        ...new Set([
          ...brokerOrders.keys(),
          ...legIds,
          ...fills.map((f) => f.brokerOrderId),
          // The orders the broker's replacements replaced: a replacement of a known order is no orphan.
          ...[...brokerOrders.values()].flatMap((o) => (o.replaces ? [o.replaces] : [])),
        ]),
      ],
    );
    const locals = new Map(open.map((o) => [o.clientOrderId, o]));
    for (const o of referenced) if (!locals.has(o.clientOrderId)) locals.set(o.clientOrderId, o);
    const knownBrokerIds = new Set(referenced.flatMap((o) => (o.brokerOrderId ? [o.brokerOrderId] : [])));
    const knownClientIds = new Set(referenced.map((o) => o.clientOrderId));
    summary.orders_checked = open.length;

    // Open orders the lists did not cover: looked up one by one (by id, else by client_order_id).
    const byClientId = new Map([...brokerOrders.values()].map((o) => [o.clientOrderId, o]));
    const unmatched = open.filter((o) => !matchReport(o, brokerOrders, byClientId));
    // Fills of orders nobody here knows by broker id: their order says whose they are.
    const unknownFillOrders = [
      ...new Set(fills.map((f) => f.brokerOrderId).filter((id) => !knownBrokerIds.has(id) && !brokerOrders.has(id))),
    ];
    summary.broker_lookups = unmatched.length + unknownFillOrders.length;
    const looked = await mapLimit(
      [
        ...unmatched.map(
          (o) => () =>
            o.brokerOrderId
              ? this.broker
                  .getOrder(o.brokerOrderId)
                  .then((r) => r ?? this.broker.getOrderByClientOrderId(o.clientOrderId))
              : this.broker.getOrderByClientOrderId(o.clientOrderId),
        ),
        ...unknownFillOrders.map((id) => () => this.broker.getOrder(id)),
      ],
      LOOKUP_CONCURRENCY,
    );
    const fetched = looked.filter((o): o is BrokerOrder => !!o);
    addOrders(fetched);
    // Orders found through their fills may be known by client_order_id only (broker id not adopted yet).
    const late = fetched.filter((o) => !knownClientIds.has(o.clientOrderId));
    if (late.length) {
      for (const o of await this.books.ordersByIds(
        late.map((x) => x.clientOrderId),
        [],
      )) {
        knownClientIds.add(o.clientOrderId);
        if (!locals.has(o.clientOrderId)) locals.set(o.clientOrderId, o);
      }
    }
    summary.broker_orders_seen = brokerOrders.size;
    const knownExecutionIds = await this.books.knownExecutionIds(fills.map((f) => f.executionId));

    // --- the pure core ---
    const result = reconcileOrders({
      localOrders: [...locals.values()],
      brokerOrders: [...brokerOrders.values()],
      isKnown: ({ clientOrderId, brokerOrderId }) =>
        (clientOrderId !== null && knownClientIds.has(clientOrderId)) ||
        (brokerOrderId !== null && knownBrokerIds.has(brokerOrderId)),
      brokerFills: fills,
      knownExecutionIds,
    });

    // --- corrections, oldest fill first, then statuses ---
    for (const c of result.corrections) await this.applyCorrection(c, summary);

    // --- findings without a correction ---
    for (const f of result.findings) {
      if (f.kind === 'orphan') summary.orphans += 1;
      if (f.kind === 'status_mismatch') summary.unknown_at_broker += 1;
      await this.record(f, null, summary);
      if (f.kind === 'orphan') {
        this.logger.warn({
          msg: 'ORPHAN: an order the gateway never sent is at the broker; its symbol is quarantined',
          symbol: f.symbol,
          broker_order_id: f.brokerOrderId,
          client_order_id: f.clientOrderId,
        });
      }
    }
    if (mode === 'full') {
      // An order the broker did not know that is now found (or closed) no longer differs.
      await this.findings.resolveOpenExcept(
        'status_mismatch',
        result.findings.filter((f) => f.kind === 'status_mismatch').map((f) => f.key),
        'converged',
      );
      await this.positions(summary);
    }

    const newest = fills.reduce<Date | null>(
      (max, f) => (max === null || f.transactionTime > max ? f.transactionTime : max),
      null,
    );
    return { summary, fillsCursor: newest };
  }

  private async applyCorrection(c: Correction, summary: RunSummary): Promise<void> {
    try {
      if (c.kind === 'adopt_replacement') {
        const adopted = await this.updates.adoptReplacement(c.replaces!, {
          source: 'reconciliation',
          order: c.order,
          at: c.at,
        });
        if (!adopted) {
          // Not an order the gateway can hold: reported as the orphan it is.
          summary.orphans += 1;
          await this.record(orphanFinding(c.order), null, summary);
          return;
        }
        summary.statuses_applied += 1;
        this.logger.warn({
          msg: 'reconciliation adopted a replacement the broker has and the books did not',
          client_order_id: c.clientOrderId,
          broker_order_id: c.order.id,
          replaces: c.replaces,
        });
        await this.record(c.finding, 'corrected', summary);
        return;
      }
      if (c.kind === 'adopt_leg' && c.leg && !(await this.adoptLeg(c.leg.parentClientOrderId, c.leg.legType))) return;
      const res = await this.updates.apply(
        { source: 'reconciliation', order: c.order, at: c.at, execution: c.execution },
        c.kind === 'apply_fill' ? { onFillRecorded: (tx, symbol) => this.rebuildPosition(tx, symbol) } : {},
      );
      if (res.outcome !== 'applied') return; // another channel got there first: nothing was missing after all
      if (c.kind === 'apply_fill') {
        if (res.fillsRecorded === 0) return;
        summary.fills_applied += 1;
      } else {
        summary.statuses_applied += 1;
        if (res.fillsRecorded > 0) summary.fills_applied += 1;
      }
      this.logger.warn({
        msg: `reconciliation applied a ${c.finding.kind === 'missing_fill' ? 'missed fill' : 'missed order update'}`,
        client_order_id: c.clientOrderId,
        broker_order_id: c.order.id,
        status: res.status,
      });
      await this.record(c.finding, 'corrected', summary);
    } catch (err) {
      summary.correction_errors += 1;
      this.logger.error({
        err,
        msg: 'reconciliation correction failed',
        client_order_id: c.clientOrderId,
        kind: c.kind,
      });
    }
  }

  /**
   * Writes the row of a leg the broker has under a parent the gateway knows
   * (the leg's terms from the parent's), audited; the broker's report of the
   * leg is then applied to it like any other. False when the parent is gone.
   */
  private async adoptLeg(parentClientOrderId: string, legType: string): Promise<boolean> {
    const parent = await this.orders.findByClientOrderId(parentClientOrderId);
    const leg = parent && buildLegOrders({ ...parent, status: 'submitted' }).find((l) => l.legType === legType);
    if (!leg) return false;
    await this.orders.insertWithAudit(leg, {
      action: 'order.leg_adopted',
      actor: 'reconciliation',
      details: { parent_order_id: parentClientOrderId, leg_type: legType },
    });
    return true;
  }

  /**
   * Inside the unit of work that recorded a late fill (the position row is
   * already locked by it): the symbol's position and every fill's realized
   * P&L, recomputed from its fills in execution order.
   */
  private async rebuildPosition(tx: Tx, symbol: string): Promise<void> {
    await this.positionsRepo.lockOrCreate(tx, symbol);
    const rebuilt = rebuildPosition(await this.fills.listForSymbol(tx, symbol));
    await this.fills.setRealizedPl(tx, rebuilt.changedFills);
    await this.positionsRepo.overwrite(tx, symbol, rebuilt.position, rebuilt.lastTradeAt);
  }

  private async positions(summary: RunSummary): Promise<void> {
    const compare = async (): Promise<Finding[]> => {
      const broker: BrokerPosition[] = await this.broker.listPositions();
      return comparePositions(await this.books.positions(), broker);
    };
    // The books and the broker are read at different moments while fills keep arriving: a difference
    // counts only at a quiet cut — the same a moment later, in a symbol nothing moved in meanwhile.
    const cut = this.clock.now();
    let found = await compare();
    let deferred: string[] = [];
    if (found.length) {
      await this.scheduler.sleep(POSITION_RECHECK_MS);
      const again = await compare();
      const symbols = [...new Set([...found, ...again].map((f) => f.symbol))];
      const moved = await this.movedSince(symbols, new Date(cut.getTime() - POSITION_QUIET_MS));
      ({ confirmed: found, deferred } = positionsAtQuietCut(found, again, moved));
      if (deferred.length) {
        this.logger.log({ msg: 'positions differing while their symbols trade: judged by a later run', deferred });
      }
    }
    summary.position_mismatches = found.length;
    summary.positions_deferred = deferred.length;
    for (const f of found) {
      await this.record(f, null, summary);
      this.logger.warn({
        msg: 'position differs from the broker',
        symbol: f.symbol,
        local: f.local,
        broker: f.broker,
      });
    }
    const keep = new Set(found.map((f) => f.key));
    const mismatched = new Set(found.map((f) => f.symbol));
    // A deferred symbol's open finding stays as it is: this run could not judge it.
    const unjudged = new Set(deferred);
    const open = (await this.findings.openFindings('position_mismatch')).filter(
      (x) => !keep.has(x.key) && !unjudged.has(x.symbol),
    );
    await this.findings.resolveOpenByKeys(
      open.filter((x) => !mismatched.has(x.symbol)).map((x) => x.key),
      'converged',
    );
    await this.findings.resolveOpenByKeys(
      open.filter((x) => mismatched.has(x.symbol)).map((x) => x.key),
      'superseded',
    );
  }

  /** Of `symbols`, those with activity since `since`: a local order written or changed, or an execution at the broker. */
  private async movedSince(symbols: string[], since: Date): Promise<Set<string>> {
    const [local, executions] = await Promise.all([
      this.books.symbolsChangedSince(symbols, since),
      this.listFills(since),
    ]);
    const wanted = new Set(symbols);
    return new Set([...local, ...executions.map((f) => f.symbol).filter((s) => wanted.has(s))]);
  }

  private async record(f: Finding, resolution: 'corrected' | null, summary: RunSummary): Promise<void> {
    const id = await this.findings.record(f, resolution);
    if (id !== null) {
      summary.new_findings += 1;
      this.metrics.newFinding(f.kind);
    }
  }

  private async listOpenOrders(): Promise<BrokerOrder[]> {
    const all: BrokerOrder[] = [];
    let until: Date | undefined;
    for (let page = 0; page < MAX_ORDER_PAGES; page++) {
      const batch = await this.broker.listOrders({ status: 'open', limit: ORDERS_PAGE, until });
      all.push(...batch);
      if (batch.length < ORDERS_PAGE) break;
      // Newest first: the next page ends where this one's oldest begins (orders the boundary skips are looked up).
      until = new Date(Math.min(...batch.map((o) => o.createdAt.getTime())));
    }
    return all;
  }

  private async listFills(after: Date): Promise<BrokerFill[]> {
    const all: BrokerFill[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_FILL_PAGES; page++) {
      const res = await this.broker.listFills({ after, pageToken, pageSize: FILLS_PAGE });
      all.push(...res.fills);
      if (!res.nextPageToken) return all;
      pageToken = res.nextPageToken;
    }
    this.logger.warn(`fills backfill stopped after ${MAX_FILL_PAGES} pages; the next pass continues`);
    return all;
  }
}

async function mapLimit<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const out: T[] = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return out;
}
