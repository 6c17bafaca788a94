import { Inject, Injectable } from '@nestjs/common';
import { Principal } from '../auth/permission';
import { Coalescer } from '../common/coalesce';
import { Decimal, exact, plain, quotient } from '../common/decimal';
import { ForbiddenError, InputValidationError, NotFoundError } from '../common/domain-error';
import { IDENTIFIER_PATTERN } from '../common/validators';
import { isSymbol, SYMBOL_PROBLEM } from '../common/symbol';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock } from '../infra/clock/clock';
import { PositionState, unrealizedPl } from '../positions/domain/position-math';
import { PositionRepository } from '../positions/persistence/position.repository';
import { PricePoint } from '../positions/domain/mark';
import { Mark, PositionMarks } from '../positions/position-marks.service';
import { SymbolTotals, unattributedFromTotals } from './domain/book-ledger';
import { utcDate } from './domain/performance';
import { StrategyStateRecord } from './domain/strategy-state';
import { StrategyActivity, StrategyActivityRepository } from './persistence/strategy-activity.repository';
import { StrategyStateRepository } from './persistence/strategy-state.repository';
import { StrategyLedger } from './strategy-ledger.service';

export interface StrategyView {
  strategy_id: string;
  state: 'active' | 'reducing' | 'halted';
  activity: 'active' | 'idle';
  state_reason: string | null;
  state_changed_at: string | null;
  state_changed_by: string | null;
  last_order_at: string | null;
  last_fill_at: string | null;
  open_orders: number;
  positions: Array<{ symbol: string; qty: string }>;
  realized_pl_today: string;
  unrealized_pl: string;
  heartbeat: { timeout_seconds: number; last_at: string; expires_at: string } | null;
}

export interface PnlPosition {
  symbol: string;
  qty: string;
  avg_entry_price: string;
  current_price: string | null;
  price_source: 'realtime' | 'last_fill' | 'none';
  price_as_of: string | null;
  unrealized_pl: string | null;
  unrealized_pl_pct: string | null;
  realized_pl: string;
}

export interface PnlView {
  strategy_id: string | null;
  positions: PnlPosition[];
  total_unrealized_pl: string;
  total_realized_pl: string;
  /** Account minus the strategies' books; null when a strategy is asked for or the key sees only some. */
  unattributed: {
    positions: Array<{ symbol: string; qty: string; realized_pl: string; unrealized_pl: string | null }>;
  } | null;
  as_of: string;
}

interface PnlSnapshot {
  /** The ledger's version and (account view) the account's positions it was computed from. */
  inputs: string;
  /** Every open symbol's mark (price, source, time) it was computed with. */
  marksKey: string;
  lastFills: Map<string, PricePoint>;
  json: Buffer;
}

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/** The strategies' views and the real-time P&L (docs/strategies-and-pnl.md). Reads only. */
/** Bound on the distinct (strategy, scope, symbol) reads that share computations. */
const PNL_RUNS_LIMIT = 1000;

@Injectable()
export class StrategiesQuery {
  private readonly pnlRuns = new Map<string, Coalescer<Buffer>>();
  /** Per read key: the last answer and what it was computed from. */
  private readonly pnlSnapshots = new Map<string, PnlSnapshot>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly activity: StrategyActivityRepository,
    private readonly states: StrategyStateRepository,
    private readonly positions: PositionRepository,
    private readonly marks: PositionMarks,
    private readonly ledger: StrategyLedger,
    private readonly clock: Clock,
  ) {}

  async list(principal: Principal): Promise<StrategyView[]> {
    return this.views(principal.strategyScope);
  }

  async get(strategyId: string, principal: Principal): Promise<StrategyView> {
    if (!isStrategyId(strategyId) || !principal.canAccessStrategy(strategyId)) throw unknownStrategy(strategyId);
    const [view] = await this.views(principal.strategyScope, strategyId);
    if (!view) throw unknownStrategy(strategyId);
    return view;
  }

  private async views(scope: string[] | undefined, only?: string): Promise<StrategyView[]> {
    const now = this.clock.now();
    const acts = await this.activity.activity(scope, only);
    if (!acts.length) return [];
    const ids = acts.map((a) => a.strategyId);
    const [records, ledger] = await Promise.all([this.states.findMany(ids), this.ledger.current()]);
    // Read synchronously: the next refresh extends the ledger in place.
    const books = ledger.books(ids);
    const today = new Map<string, Decimal>();
    const todayDate = utcDate(now);
    for (const d of ledger.dayFigures(todayDate, todayDate, ids)) today.set(d.strategyId, d.realized);
    const open = [...books.values()].flatMap((b) => [...b].filter(([, p]) => !exact(p.qty).isZero()).map(([s]) => s));
    const marks = await this.marks.marks(open);
    const byId = new Map(records.map((r) => [r.strategyId, r]));
    return acts.map((a) =>
      this.view(a, byId.get(a.strategyId), books.get(a.strategyId), marks, today.get(a.strategyId), now),
    );
  }

  private view(
    a: StrategyActivity,
    rec: StrategyStateRecord | undefined,
    book: Map<string, PositionState> | undefined,
    marks: Map<string, Mark>,
    realizedToday: Decimal | undefined,
    now: Date,
  ): StrategyView {
    const thresholdMs = this.config.strategies.activityThresholdSeconds * 1000;
    const latest = Math.max(a.lastOrderAt?.getTime() ?? 0, a.lastFillAt?.getTime() ?? 0);
    let unrealized = new Decimal(0);
    const positions: Array<{ symbol: string; qty: string }> = [];
    for (const [symbol, p] of [...(book ?? new Map<string, PositionState>())].sort(([x], [y]) => (x < y ? -1 : 1))) {
      if (exact(p.qty).isZero()) continue;
      positions.push({ symbol, qty: p.qty });
      const price = marks.get(symbol)?.price;
      if (price) unrealized = unrealized.plus(unrealizedPl(p, price));
    }
    return {
      strategy_id: a.strategyId,
      state: rec?.state ?? 'active',
      activity: latest > 0 && now.getTime() - latest <= thresholdMs ? 'active' : 'idle',
      state_reason: rec?.reason ?? null,
      state_changed_at: iso(rec?.changedAt),
      state_changed_by: rec?.changedBy ?? null,
      last_order_at: iso(a.lastOrderAt),
      last_fill_at: iso(a.lastFillAt),
      open_orders: a.openOrders,
      positions,
      realized_pl_today: plain(realizedToday ?? new Decimal(0)),
      unrealized_pl: plain(unrealized),
      heartbeat: rec?.heartbeat
        ? {
            timeout_seconds: rec.heartbeat.timeoutSeconds,
            last_at: rec.heartbeat.lastAt.toISOString(),
            expires_at: rec.heartbeat.expiresAt.toISOString(),
          }
        : null,
    };
  }

  /**
   * GET /positions/pnl/realtime: the account's positions, or one strategy's
   * own book, as the JSON of a PnlView (serialized once, shared by every
   * request that gets the same answer).
   */
  async pnlJson(principal: Principal, q: { strategy_id?: string; symbol?: string }): Promise<Buffer> {
    const problems = [];
    if (q.strategy_id !== undefined && !isStrategyId(q.strategy_id)) {
      problems.push({ field: 'strategy_id', problems: ['must be 1-64 characters of A-Z a-z 0-9 _ . : -'] });
    }
    if (q.symbol !== undefined && !isSymbol(q.symbol)) problems.push({ field: 'symbol', problems: [SYMBOL_PROBLEM] });
    if (problems.length) throw new InputValidationError(problems);
    const scope = principal.strategyScope;
    if (q.strategy_id !== undefined && !principal.canAccessStrategy(q.strategy_id)) {
      throw new ForbiddenError('STRATEGY_FORBIDDEN', `This API key may not see strategy "${q.strategy_id}"`);
    }
    // Concurrent identical reads share one computation, never one that started before they asked.
    const key = JSON.stringify([q.strategy_id ?? null, scope ?? null, q.symbol ?? null]);
    let shared = this.pnlRuns.get(key);
    if (!shared) {
      if (this.pnlRuns.size >= PNL_RUNS_LIMIT) {
        this.pnlRuns.clear();
        this.pnlSnapshots.clear();
      }
      shared = new Coalescer(() => this.currentPnl(key, scope, q));
      this.pnlRuns.set(key, shared);
    }
    return shared.run();
  }

  /** The PnlView as JSON (tests and other readers): the same answer as the route's. */
  async pnl(principal: Principal, q: { strategy_id?: string; symbol?: string }): Promise<PnlView> {
    return JSON.parse((await this.pnlJson(principal, q)).toString('utf8')) as PnlView;
  }

  /**
   * The answer now: the books and the account's positions are read (the
   * ledger catches up with new fills), then marked. When the books, the
   * account's positions and every mark (price, source, time) are what the
   * last answer of this key was computed from, that answer is served again,
   * as it stands (its `as_of` is when it was computed); otherwise it is
   * computed and serialized afresh.
   */
  private async currentPnl(
    key: string,
    scope: string[] | undefined,
    q: { strategy_id?: string; symbol?: string },
  ): Promise<Buffer> {
    const now = this.clock.now();
    // A key limited to some strategies sees the sum of their books, never the account's.
    const strategies = q.strategy_id !== undefined ? [q.strategy_id] : scope;
    const [ledger, allPositions] = await Promise.all([
      this.ledger.current(),
      strategies ? Promise.resolve(null) : this.positions.listStates(),
    ]);
    // Read synchronously: the next refresh extends the ledger in place. The account view needs
    // only the books' sums per symbol (for unattributed), a scoped view the books themselves.
    const version = this.ledger.version;
    const accountRows = allPositions && allPositions.filter((p) => !q.symbol || p.symbol === q.symbol);
    const held = new Map<string, PositionState>();
    let inputs = version;
    if (accountRows) {
      const parts = [version];
      for (const p of accountRows) {
        held.set(p.symbol, p);
        parts.push(`${p.symbol}:${p.qty}:${p.avgEntryPrice}:${p.realizedPl}`);
      }
      inputs = parts.join('\n');
    } else {
      // The sum of the strategies' books: one row per symbol (same math per strategy, summed).
      for (const book of ledger.books(strategies, q.symbol).values()) {
        for (const [symbol, p] of book) {
          const h = held.get(symbol);
          held.set(symbol, h ? sumPositions(h, p) : p);
        }
      }
    }
    const totals = accountRows ? ledger.symbolTotals(q.symbol) : null;
    const open = [...held].filter(([, p]) => !isZeroText(p.qty)).map(([s]) => s);
    const last = this.pnlSnapshots.get(key);
    const sameInputs = last !== undefined && last.inputs === inputs;
    // Last fill prices change only with a new fill, and a new fill changes the ledger's version.
    const [market, lastFills] = await Promise.all([
      this.marks.marketPoints(open),
      sameInputs ? Promise.resolve(last.lastFills) : this.marks.lastFills(open),
    ]);
    const marks = this.marks.choose(open, market, lastFills);
    const marksKey = open.map((s) => markKey(s, marks.get(s))).join('\n');
    if (sameInputs && last.marksKey === marksKey) return last.json;
    const json = Buffer.from(JSON.stringify(this.pnlView(held, totals, marks, q, now)), 'utf8');
    this.pnlSnapshots.set(key, { inputs, marksKey, lastFills, json });
    return json;
  }

  private pnlView(
    held: ReadonlyMap<string, PositionState>,
    totals: ReadonlyMap<string, SymbolTotals> | null,
    marks: ReadonlyMap<string, Mark>,
    q: { strategy_id?: string; symbol?: string },
    now: Date,
  ): PnlView {
    let totalU = new Decimal(0);
    let totalR = new Decimal(0);
    const positions: PnlPosition[] = [];
    for (const [symbol, p] of [...held].sort(([x], [y]) => (x < y ? -1 : 1))) {
      totalR = totalR.plus(p.realizedPl);
      if (isZeroText(p.qty)) continue;
      const mark = marks.get(symbol) ?? { price: null, source: 'none' as const, asOf: null };
      const u = mark.price === null ? null : unrealizedPl(p, mark.price);
      if (u !== null) totalU = totalU.plus(u);
      const basis = exact(p.qty).abs().times(p.avgEntryPrice);
      positions.push({
        symbol,
        qty: p.qty,
        avg_entry_price: p.avgEntryPrice,
        current_price: mark.price,
        price_source: mark.source,
        price_as_of: iso(mark.asOf),
        unrealized_pl: u,
        unrealized_pl_pct: u === null || basis.isZero() ? null : plain(quotient(exact(u).times(100), basis, 4)),
        realized_pl: p.realizedPl,
      });
    }
    return {
      strategy_id: q.strategy_id ?? null,
      positions,
      total_unrealized_pl: plain(totalU),
      total_realized_pl: plain(totalR),
      unattributed: totals
        ? { positions: unattributedFromTotals(held, totals, (s) => marks.get(s)?.price ?? null) }
        : null,
      as_of: now.toISOString(),
    };
  }
}

/** A decimal string that is zero ("0", "-0", "0.000"). */
function isZeroText(v: string): boolean {
  return /^[-+]?0*\.?0*$/.test(v);
}

function markKey(symbol: string, m: Mark | undefined): string {
  return m ? `${symbol}:${m.price ?? ''}:${m.source}:${m.asOf?.getTime() ?? ''}` : `${symbol}:`;
}

/** Two books of one symbol summed: qty and realized add; the entry is the cost-weighted one. */
function sumPositions(a: PositionState, b: PositionState): PositionState {
  const qty = exact(a.qty).plus(b.qty);
  const cost = exact(a.qty).times(a.avgEntryPrice).plus(exact(b.qty).times(b.avgEntryPrice));
  return {
    qty: plain(qty),
    avgEntryPrice: qty.isZero() ? '0' : plain(quotient(cost, qty)),
    realizedPl: plain(exact(a.realizedPl).plus(b.realizedPl)),
  };
}

export function isStrategyId(v: string): boolean {
  return v.length >= 1 && v.length <= 64 && IDENTIFIER_PATTERN.test(v);
}

function unknownStrategy(strategyId: string): NotFoundError {
  return new NotFoundError('STRATEGY_NOT_FOUND', `No strategy "${strategyId}" (it has no order and no state)`);
}
