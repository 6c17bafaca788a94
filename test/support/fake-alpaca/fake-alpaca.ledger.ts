/**
 * The fake broker's account side: signed positions, cash, the account view and
 * FILL activities. Executions are booked here by the exchange
 * (fake-alpaca.exchange.ts); orders live in fake-alpaca.order-book.ts.
 *
 * Positions are signed (negative = short) and disappear when flat; every
 * amount leaves as a normalized decimal string.
 */
import { Decimal } from '../../../src/common/decimal';
import {
  validationError,
  type WireAccount,
  type WireFillActivity,
  type WirePosition,
  type WireResponse,
} from './fake-alpaca.wire';
import { clone, dec, parseDecimal, parseTime, STARTING_CASH } from './fake-alpaca.values';

type Query = URLSearchParams;

export interface PositionState {
  symbol: string;
  qty: Decimal;
  avgEntry: Decimal;
}

export interface LedgerDeps {
  /** The symbol's reference price (marks positions and the account). */
  price(symbol: string): string;
  assetId(symbol: string): string;
}

export class FakeLedger {
  private readonly positionBook = new Map<string, PositionState>();
  private readonly fillActivities: WireFillActivity[] = [];
  private accountOverrides: Partial<WireAccount> = {};
  private cash = new Decimal(STARTING_CASH);

  constructor(private readonly deps: LedgerDeps) {}

  reset(): void {
    this.positionBook.clear();
    this.fillActivities.length = 0;
    this.accountOverrides = {};
    this.cash = new Decimal(STARTING_CASH);
  }

  // --- control ---------------------------------------------------------------

  /** Sets a position directly (no order, no fill, no activity): the broker's books drifting from ours. */
  setPosition(symbol: string, qty: string, avgEntryPrice: string): void {
    const q = parseDecimal(qty);
    const avg = parseDecimal(avgEntryPrice);
    if (!q || !avg) throw new Error(`setPosition: not decimals: ${qty} @ ${avgEntryPrice}`);
    if (q.isZero()) this.positionBook.delete(symbol);
    else this.positionBook.set(symbol, { symbol, qty: q, avgEntry: avg });
  }

  setAccount(patch: Partial<WireAccount>): void {
    this.accountOverrides = { ...this.accountOverrides, ...patch };
  }

  // --- executions ------------------------------------------------------------

  /** Books one execution against position and cash; returns the position's new signed qty. */
  applyExecution(symbol: string, signedQty: Decimal, price: Decimal): Decimal {
    const positionQty = this.applyToPosition(symbol, signedQty, price);
    this.cash = this.cash.sub(signedQty.mul(price));
    return positionQty;
  }

  recordActivity(activity: WireFillActivity): void {
    this.fillActivities.push(activity);
  }

  // --- positions -------------------------------------------------------------

  /** The live position (not a copy), or undefined when flat. */
  position(symbol: string): PositionState | undefined {
    return this.positionBook.get(symbol);
  }

  positions(): WirePosition[] {
    return [...this.positionBook.values()]
      .sort((a, b) => a.symbol.localeCompare(b.symbol))
      .map((p) => this.wirePosition(p));
  }

  listPositions(): WireResponse {
    return { status: 200, body: this.positions() };
  }

  // --- account ---------------------------------------------------------------

  account(): WireAccount {
    let long = new Decimal(0);
    let short = new Decimal(0);
    for (const p of this.positionBook.values()) {
      const mv = p.qty.mul(this.deps.price(p.symbol));
      if (mv.gte(0)) long = long.add(mv);
      else short = short.add(mv);
    }
    const equity = this.cash.add(long).add(short);
    const buyingPower = Decimal.max(this.cash, 0);
    const base: WireAccount = {
      id: 'f0000000-0000-4000-8000-00000000acc7',
      account_number: 'PA0000FAKE00',
      status: 'ACTIVE',
      crypto_status: 'INACTIVE',
      currency: 'USD',
      buying_power: dec(buyingPower),
      regt_buying_power: dec(buyingPower),
      non_marginable_buying_power: dec(buyingPower),
      options_buying_power: dec(buyingPower),
      cash: dec(this.cash),
      equity: dec(equity),
      last_equity: STARTING_CASH,
      portfolio_value: dec(equity),
      long_market_value: dec(long),
      short_market_value: dec(short),
      initial_margin: '0',
      maintenance_margin: '0',
      last_maintenance_margin: '0',
      sma: '0',
      multiplier: '1',
      trading_blocked: false,
      account_blocked: false,
      trade_suspended_by_user: false,
      transfers_blocked: false,
      shorting_enabled: true,
      options_approved_level: 0,
      options_trading_level: 0,
      accrued_fees: '0',
      pending_transfer_in: '0',
      pending_transfer_out: '0',
      created_at: '2024-01-02T14:30:00.000000Z',
    };
    return { ...base, ...this.accountOverrides };
  }

  /** GET /v2/account/activities (FILL only: the fake records no other activity). */
  listActivities(query: Query, pathType?: string): WireResponse {
    const types = (pathType ?? query.get('activity_types') ?? '')
      .split(',')
      .map((t) => t.trim().toUpperCase())
      .filter(Boolean);
    const category = query.get('category');
    const direction = query.get('direction') ?? 'desc';
    if (direction !== 'asc' && direction !== 'desc') return validationError('invalid direction');
    const sizeText = query.get('page_size');
    const pageSize = sizeText === null ? 100 : Number(sizeText);
    if (!Number.isInteger(pageSize) || pageSize < 1) return validationError('invalid page_size');
    const after = parseTime(query.get('after'));
    const until = parseTime(query.get('until'));
    if (after === null || until === null) return validationError('invalid timestamp');
    const dateText = query.get('date');
    // Alpaca documents `date` as YYYY-MM-DD, but the SDK sends a full timestamp: accept both.
    const day = dateText === null ? undefined : /^\d{4}-\d{2}-\d{2}/.exec(dateText)?.[0];
    if (dateText !== null && !day) return validationError('invalid date');

    const wantsFills = (types.length === 0 || types.includes('FILL')) && category !== 'non_trade_activity';
    let rows = wantsFills ? [...this.fillActivities] : [];
    rows = rows.filter((a) => {
      const at = Date.parse(a.transaction_time);
      if (after && !(at > after.getTime())) return false;
      if (until && !(at < until.getTime())) return false;
      if (day && !a.transaction_time.startsWith(day)) return false;
      return true;
    });
    if (direction === 'desc') rows.reverse();
    const token = query.get('page_token');
    if (token !== null) {
      const at = rows.findIndex((a) => a.id === token);
      if (at === -1 && !this.fillActivities.some((a) => a.id === token)) return validationError('invalid page_token');
      rows = at === -1 ? [] : rows.slice(at + 1);
    }
    return { status: 200, body: rows.slice(0, Math.min(pageSize, 100)).map(clone) };
  }

  activities(): WireFillActivity[] {
    return this.fillActivities.map(clone);
  }

  // --- internals -------------------------------------------------------------

  /** Weighted average on increases, unchanged on reductions, the fill price on a flip. Returns the new signed qty. */
  private applyToPosition(symbol: string, signedQty: Decimal, price: Decimal): Decimal {
    const p = this.positionBook.get(symbol) ?? { symbol, qty: new Decimal(0), avgEntry: new Decimal(0) };
    const next = p.qty.add(signedQty);
    if (p.qty.isZero() || p.qty.isPositive() === signedQty.isPositive()) {
      p.avgEntry = p.qty.abs().mul(p.avgEntry).add(signedQty.abs().mul(price)).div(next.abs());
    } else if (!next.isZero() && next.isPositive() !== p.qty.isPositive()) {
      p.avgEntry = price;
    }
    p.qty = next;
    if (next.isZero()) this.positionBook.delete(symbol);
    else this.positionBook.set(symbol, p);
    return next;
  }

  private wirePosition(p: PositionState): WirePosition {
    const current = new Decimal(this.deps.price(p.symbol));
    const marketValue = p.qty.mul(current);
    const costBasis = p.qty.mul(p.avgEntry);
    const pl = marketValue.sub(costBasis);
    const plpc = costBasis.isZero() ? new Decimal(0) : pl.div(costBasis.abs());
    const qty = p.qty.toFixed();
    return {
      asset_id: this.deps.assetId(p.symbol),
      symbol: p.symbol,
      exchange: 'NASDAQ',
      asset_class: 'us_equity',
      asset_marginable: true,
      qty,
      qty_available: qty,
      avg_entry_price: dec(p.avgEntry),
      side: p.qty.isNegative() ? 'short' : 'long',
      market_value: dec(marketValue),
      cost_basis: dec(costBasis),
      unrealized_pl: dec(pl),
      unrealized_plpc: dec(plpc),
      unrealized_intraday_pl: dec(pl),
      unrealized_intraday_plpc: dec(plpc),
      current_price: current.toFixed(),
      lastday_price: current.toFixed(),
      change_today: '0',
    };
  }
}
