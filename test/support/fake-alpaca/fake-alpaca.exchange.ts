/**
 * The fake broker's books: orders, fills, positions, account and FILL
 * activities, kept in Alpaca's wire shapes. No HTTP here: the server routes
 * requests to these methods and turns the results into responses.
 *
 * Invariants:
 * - a client_order_id is never reused, even after the order is canceled or replaced;
 * - filled_qty is cumulative and never exceeds qty; every execution produces
 *   exactly one trade update (with a fresh execution_id) and one FILL activity;
 * - positions are signed (negative = short) and disappear when flat;
 * - all arithmetic is decimal; every amount leaves as a normalized decimal string.
 */
import { Decimal } from '../../../src/common/decimal';
import {
  activityId,
  ERR_DUPLICATE_CLIENT_ORDER_ID,
  ERR_ORDER_NOT_FOUND,
  ERR_POSITION_NOT_FOUND,
  rfc3339,
  TERMINAL_STATUSES,
  uuidLike,
  validationError,
  type WireAccount,
  type WireFillActivity,
  type WireOrder,
  type WirePosition,
  type WireResponse,
  type WireTradeUpdate,
} from './fake-alpaca.wire';

/** How new orders get filled. `manual` and `never` both leave the order `new`; `fill()` fills it. */
export type FillBehaviour =
  | { mode: 'never' }
  | { mode: 'manual' }
  | { mode: 'instant' }
  | { mode: 'partial'; steps: number; stepDelayMs?: number };

export interface ExchangeHooks {
  now(): Date;
  emit(update: WireTradeUpdate): void;
  /** Runs `fn` later (after the HTTP answer has been written); the server tracks it for `whenIdle()`. */
  schedule(fn: () => void, delayMs: number): void;
}

export interface FillResult {
  executionId: string;
  activityId: string;
  order: WireOrder;
}

type Query = URLSearchParams;

const ORDER_TYPES = new Set(['market', 'limit', 'stop', 'stop_limit', 'trailing_stop']);
const TIME_IN_FORCE = new Set(['day', 'gtc', 'opg', 'cls', 'ioc', 'fok']);
const REPLACEABLE = new Set(['new', 'partially_filled', 'held', 'done_for_day']);
const DECIMAL_TEXT = /^-?\d+(\.\d+)?$/;
const ORDER_ID_KIND = 0x0a1d;
const EXECUTION_ID_KIND = 0x0e1d;
const ACTIVITY_ID_KIND = 0x0ac7;
const ASSET_ID_KIND = 0x0a55;
const STARTING_CASH = '100000';

function dec(value: Decimal): string {
  return value.toDecimalPlaces(9).toFixed();
}

/** A decimal given as a string or JSON number; undefined when absent or malformed. */
function parseDecimal(input: unknown): Decimal | undefined {
  if (typeof input === 'string' && DECIMAL_TEXT.test(input.trim())) return new Decimal(input.trim());
  if (typeof input === 'number' && Number.isFinite(input)) return new Decimal(String(input));
  return undefined;
}

function isOpen(order: WireOrder): boolean {
  return !TERMINAL_STATUSES.has(order.status);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

interface PositionState {
  symbol: string;
  qty: Decimal;
  avgEntry: Decimal;
}

export class FakeExchange {
  private readonly orders = new Map<string, WireOrder>();
  private readonly orderSeq = new Map<string, number>();
  private readonly byClientOrderId = new Map<string, string>();
  private readonly positionBook = new Map<string, PositionState>();
  private readonly fillActivities: WireFillActivity[] = [];
  private readonly prices = new Map<string, string>();
  private readonly assetIds = new Map<string, string>();
  private readonly behaviourBySymbol = new Map<string, FillBehaviour>();
  private globalBehaviour: FillBehaviour = { mode: 'never' };
  private accountOverrides: Partial<WireAccount> = {};
  private cash = new Decimal(STARTING_CASH);
  private seq = 0;

  constructor(
    private readonly hooks: ExchangeHooks,
    private readonly defaultPrice = '100',
  ) {}

  reset(): void {
    this.orders.clear();
    this.orderSeq.clear();
    this.byClientOrderId.clear();
    this.positionBook.clear();
    this.fillActivities.length = 0;
    this.prices.clear();
    this.behaviourBySymbol.clear();
    this.globalBehaviour = { mode: 'never' };
    this.accountOverrides = {};
    this.cash = new Decimal(STARTING_CASH);
    this.seq = 0;
  }

  // --- control ---------------------------------------------------------------

  setPrice(symbol: string, price: string): void {
    if (!parseDecimal(price)) throw new Error(`setPrice: not a decimal: ${price}`);
    this.prices.set(symbol, new Decimal(price).toFixed());
  }

  price(symbol: string): string {
    return this.prices.get(symbol) ?? this.defaultPrice;
  }

  setFillBehaviour(behaviour: FillBehaviour, symbol?: string): void {
    if (behaviour.mode === 'partial' && !(behaviour.steps >= 1)) throw new Error('partial fills need steps >= 1');
    if (symbol === undefined) this.globalBehaviour = behaviour;
    else this.behaviourBySymbol.set(symbol, behaviour);
  }

  /** Sets a position directly (no order, no fill, no activity): the broker's books drifting from ours. */
  setPosition(symbol: string, qty: string, avgEntryPrice: string): void {
    const q = parseDecimal(qty);
    const avg = parseDecimal(avgEntryPrice);
    if (!q || !avg) throw new Error(`setPosition: not decimals: ${qty} @ ${avgEntryPrice}`);
    if (q.isZero()) this.positionBook.delete(symbol);
    else this.positionBook.set(symbol, { symbol, qty: q, avgEntry: avg });
  }

  /** An order placed on the account by someone else (another client, the broker's web UI): no POST counted. */
  plantOrder(f: {
    symbol: string;
    side: 'buy' | 'sell';
    qty: string;
    clientOrderId?: string;
    limitPrice?: string;
  }): WireOrder {
    const order = this.newOrder({
      clientOrderId: f.clientOrderId ?? uuidLike(0x0f0f, this.seq + 1),
      symbol: f.symbol,
      side: f.side,
      type: f.limitPrice ? 'limit' : 'market',
      timeInForce: 'day',
      qty: f.qty,
      notional: null,
      limitPrice: f.limitPrice ?? null,
      stopPrice: null,
      trailPrice: null,
      trailPercent: null,
      extendedHours: false,
    });
    return clone(order);
  }

  setAccount(patch: Partial<WireAccount>): void {
    this.accountOverrides = { ...this.accountOverrides, ...patch };
  }

  // --- inspection --------------------------------------------------------------

  allOrders(): WireOrder[] {
    return [...this.orders.values()].map(clone);
  }

  order(id: string): WireOrder | undefined {
    const o = this.orders.get(id);
    return o && clone(o);
  }

  orderByClientOrderId(clientOrderId: string): WireOrder | undefined {
    const id = this.byClientOrderId.get(clientOrderId);
    return id === undefined ? undefined : this.order(id);
  }

  activities(): WireFillActivity[] {
    return this.fillActivities.map(clone);
  }

  // --- orders ------------------------------------------------------------------

  /** POST /v2/orders. On success the order is stored and its post-accept events scheduled. */
  submit(body: unknown): WireResponse {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return { status: 400, body: { code: 40010000, message: 'request body format is invalid' } };
    }
    const b = body as Record<string, unknown>;
    if (typeof b.symbol !== 'string' || b.symbol.trim() === '') return validationError('symbol is required');
    if (b.side !== 'buy' && b.side !== 'sell') return validationError('side must be buy or sell');
    if (typeof b.type !== 'string' || !ORDER_TYPES.has(b.type)) return validationError('invalid order type');
    if (typeof b.time_in_force !== 'string' || !TIME_IN_FORCE.has(b.time_in_force)) {
      return validationError('invalid time_in_force');
    }
    const hasQty = b.qty !== undefined && b.qty !== null;
    const hasNotional = b.notional !== undefined && b.notional !== null;
    if (hasQty === hasNotional) {
      return validationError(hasQty ? 'qty and notional are mutually exclusive' : 'qty or notional is required');
    }
    const qty = hasQty ? parseDecimal(b.qty) : undefined;
    const notional = hasNotional ? parseDecimal(b.notional) : undefined;
    if (hasQty && !(qty && qty.gt(0))) return validationError('qty must be > 0');
    if (hasNotional && !(notional && notional.gt(0))) return validationError('notional must be > 0');
    const limit = b.limit_price == null ? undefined : parseDecimal(b.limit_price);
    const stop = b.stop_price == null ? undefined : parseDecimal(b.stop_price);
    if (b.limit_price != null && !(limit && limit.gt(0))) return validationError('invalid limit_price');
    if (b.stop_price != null && !(stop && stop.gt(0))) return validationError('invalid stop_price');
    if ((b.type === 'limit' || b.type === 'stop_limit') && !limit) return validationError('limit_price is required');
    if ((b.type === 'stop' || b.type === 'stop_limit') && !stop) return validationError('stop_price is required');
    if (b.type === 'market' && (limit || stop)) return validationError('market orders take no limit or stop price');
    const trailPrice = b.trail_price == null ? undefined : parseDecimal(b.trail_price);
    const trailPercent = b.trail_percent == null ? undefined : parseDecimal(b.trail_percent);
    if (b.type === 'trailing_stop' && (trailPrice === undefined) === (trailPercent === undefined)) {
      return validationError('exactly one of trail_price or trail_percent is required');
    }
    let clientOrderId: string;
    if (b.client_order_id === undefined || b.client_order_id === null) {
      clientOrderId = uuidLike(0x0c1d, this.seq + 1);
    } else if (typeof b.client_order_id !== 'string' || b.client_order_id.length > 128) {
      return validationError('client_order_id must be a string of at most 128 characters');
    } else {
      clientOrderId = b.client_order_id;
    }
    if (this.byClientOrderId.has(clientOrderId)) return { status: 422, body: ERR_DUPLICATE_CLIENT_ORDER_ID };

    const order = this.newOrder({
      clientOrderId,
      symbol: b.symbol.trim(),
      side: b.side,
      type: b.type,
      timeInForce: b.time_in_force,
      qty: qty ? qty.toFixed() : null,
      notional: notional ? notional.toFixed() : null,
      limitPrice: limit ? limit.toFixed() : null,
      stopPrice: stop ? stop.toFixed() : null,
      trailPrice: trailPrice ? trailPrice.toFixed() : null,
      trailPercent: trailPercent ? trailPercent.toFixed() : null,
      extendedHours: b.extended_hours === true,
      positionIntent: typeof b.position_intent === 'string' ? b.position_intent : undefined,
    });
    this.afterAccept(order.id);
    return { status: 200, body: clone(order) };
  }

  get(id: string): WireResponse {
    const o = this.orders.get(id);
    return o ? { status: 200, body: clone(o) } : { status: 404, body: ERR_ORDER_NOT_FOUND };
  }

  getByClientOrderId(query: Query): WireResponse {
    const cid = query.get('client_order_id');
    if (!cid) return validationError('client_order_id is required');
    const o = this.orderByClientOrderId(cid);
    return o ? { status: 200, body: o } : { status: 404, body: ERR_ORDER_NOT_FOUND };
  }

  list(query: Query): WireResponse {
    const status = query.get('status') ?? 'open';
    if (!['open', 'closed', 'all'].includes(status)) return validationError('invalid status');
    const direction = query.get('direction') ?? 'desc';
    if (direction !== 'asc' && direction !== 'desc') return validationError('invalid direction');
    const limitText = query.get('limit');
    const limit = limitText === null ? 50 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1) return validationError('invalid limit');
    const after = this.parseTime(query.get('after'));
    const until = this.parseTime(query.get('until'));
    if (after === null || until === null) return validationError('invalid timestamp');
    const symbols = query.get('symbols')?.split(',').filter(Boolean);
    const side = query.get('side');

    let rows = [...this.orders.values()].filter((o) => {
      if (status === 'open' && !isOpen(o)) return false;
      if (status === 'closed' && isOpen(o)) return false;
      if (symbols && symbols.length > 0 && !symbols.includes(o.symbol)) return false;
      if (side && o.side !== side) return false;
      const at = Date.parse(o.submitted_at);
      if (after && !(at > after.getTime())) return false;
      if (until && !(at < until.getTime())) return false;
      return true;
    });
    rows = this.sortBySubmission(rows, direction);
    return { status: 200, body: rows.slice(0, Math.min(limit, 500)).map(clone) };
  }

  cancel(id: string): WireResponse {
    const o = this.orders.get(id);
    if (!o) return { status: 404, body: ERR_ORDER_NOT_FOUND };
    if (!isOpen(o)) return { status: 422, body: { code: 42210000, message: 'order is not cancelable' } };
    this.markCanceled(o);
    return { status: 204 };
  }

  cancelAll(): WireResponse {
    const results: Array<{ id: string; status: number }> = [];
    for (const o of this.sortBySubmission([...this.orders.values()], 'asc')) {
      if (!isOpen(o)) continue;
      this.markCanceled(o);
      results.push({ id: o.id, status: 200 });
    }
    return { status: 207, body: results };
  }

  replace(id: string, body: unknown): WireResponse {
    const old = this.orders.get(id);
    if (!old) return { status: 404, body: ERR_ORDER_NOT_FOUND };
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return { status: 400, body: { code: 40010000, message: 'request body format is invalid' } };
    }
    if (!REPLACEABLE.has(old.status)) {
      return { status: 422, body: { code: 42210000, message: `order is not replaceable in status ${old.status}` } };
    }
    const b = body as Record<string, unknown>;
    const qty = b.qty == null ? undefined : parseDecimal(b.qty);
    if (b.qty != null && !(qty && qty.gt(0))) return validationError('qty must be > 0');
    const limit = b.limit_price == null ? undefined : parseDecimal(b.limit_price);
    if (b.limit_price != null && !(limit && limit.gt(0))) return validationError('invalid limit_price');
    const stop = b.stop_price == null ? undefined : parseDecimal(b.stop_price);
    if (b.stop_price != null && !(stop && stop.gt(0))) return validationError('invalid stop_price');
    if (b.time_in_force != null && (typeof b.time_in_force !== 'string' || !TIME_IN_FORCE.has(b.time_in_force))) {
      return validationError('invalid time_in_force');
    }
    let clientOrderId: string;
    if (b.client_order_id == null) clientOrderId = uuidLike(0x0c1d, this.seq + 1);
    else if (typeof b.client_order_id !== 'string' || b.client_order_id.length > 128) {
      return validationError('client_order_id must be a string of at most 128 characters');
    } else clientOrderId = b.client_order_id;
    if (this.byClientOrderId.has(clientOrderId)) return { status: 422, body: ERR_DUPLICATE_CLIENT_ORDER_ID };

    const replacement = this.newOrder({
      clientOrderId,
      symbol: old.symbol,
      side: old.side,
      type: old.type,
      timeInForce: typeof b.time_in_force === 'string' ? b.time_in_force : old.time_in_force,
      qty: qty ? qty.toFixed() : old.qty,
      notional: old.notional,
      limitPrice: limit ? limit.toFixed() : old.limit_price,
      stopPrice: stop ? stop.toFixed() : old.stop_price,
      trailPrice: old.trail_price,
      trailPercent: old.trail_percent,
      extendedHours: old.extended_hours,
      positionIntent: old.position_intent,
      replaces: old.id,
    });
    const now = rfc3339(this.hooks.now());
    old.status = 'replaced';
    old.replaced_by = replacement.id;
    old.replaced_at = now;
    old.updated_at = now;
    const oldSnapshot = clone(old);
    this.hooks.schedule(() => this.hooks.emit({ event: 'replaced', order: oldSnapshot, timestamp: now }), 0);
    this.afterAccept(replacement.id);
    return { status: 200, body: clone(replacement) };
  }

  // --- positions and account -----------------------------------------------------

  positions(): WirePosition[] {
    return [...this.positionBook.values()]
      .sort((a, b) => a.symbol.localeCompare(b.symbol))
      .map((p) => this.wirePosition(p));
  }

  listPositions(): WireResponse {
    return { status: 200, body: this.positions() };
  }

  closePosition(symbol: string, query: Query): WireResponse {
    const p = this.positionBook.get(symbol);
    if (!p) return { status: 404, body: ERR_POSITION_NOT_FOUND };
    const held = p.qty.abs();
    const qtyText = query.get('qty');
    const pctText = query.get('percentage');
    if (qtyText !== null && pctText !== null) return validationError('qty and percentage are mutually exclusive');
    let qty = held;
    if (qtyText !== null) {
      const q = parseDecimal(qtyText);
      if (!q || !q.gt(0)) return validationError('invalid qty');
      if (q.gt(held)) return { status: 403, body: { code: 40310000, message: 'insufficient qty available for order' } };
      qty = q;
    } else if (pctText !== null) {
      const pct = parseDecimal(pctText);
      if (!pct || !pct.gt(0) || pct.gt(100)) return validationError('invalid percentage');
      qty = held.mul(pct).div(100).toDecimalPlaces(9, Decimal.ROUND_DOWN);
    }
    const order = this.newOrder({
      clientOrderId: uuidLike(0x0c1d, this.seq + 1),
      symbol,
      side: p.qty.gt(0) ? 'sell' : 'buy',
      type: 'market',
      timeInForce: 'day',
      qty: qty.toFixed(),
      notional: null,
      limitPrice: null,
      stopPrice: null,
      trailPrice: null,
      trailPercent: null,
      extendedHours: false,
    });
    this.afterAccept(order.id);
    return { status: 200, body: clone(order) };
  }

  account(): WireAccount {
    let long = new Decimal(0);
    let short = new Decimal(0);
    for (const p of this.positionBook.values()) {
      const mv = p.qty.mul(this.price(p.symbol));
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
    const after = this.parseTime(query.get('after'));
    const until = this.parseTime(query.get('until'));
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

  // --- executions ------------------------------------------------------------------

  /**
   * One execution of `qty` at `price` (the symbol's reference price by default):
   * updates the order, position, cash and activities, and emits the trade update.
   */
  fill(orderId: string, qtyText: string, priceText?: string): FillResult {
    const o = this.orders.get(orderId);
    if (!o) throw new Error(`fill: unknown order ${orderId}`);
    if (!isOpen(o)) throw new Error(`fill: order ${orderId} is ${o.status}`);
    if (o.qty === null) throw new Error('fill: notional orders are not supported by the fake');
    const qty = parseDecimal(qtyText);
    const price = parseDecimal(priceText ?? this.price(o.symbol));
    if (!qty || !qty.gt(0)) throw new Error(`fill: bad qty ${qtyText}`);
    if (!price || !price.gt(0)) throw new Error(`fill: bad price ${priceText}`);
    const filledBefore = new Decimal(o.filled_qty);
    const leavesBefore = new Decimal(o.qty).sub(filledBefore);
    if (qty.gt(leavesBefore)) throw new Error(`fill: qty ${qtyText} exceeds leaves ${leavesBefore.toFixed()}`);

    const nowDate = this.hooks.now();
    const now = rfc3339(nowDate);
    const cum = filledBefore.add(qty);
    const avgBefore = o.filled_avg_price === null ? new Decimal(0) : new Decimal(o.filled_avg_price);
    const avg = filledBefore.mul(avgBefore).add(qty.mul(price)).div(cum);
    const complete = cum.eq(o.qty);
    o.filled_qty = cum.toFixed();
    o.filled_avg_price = dec(avg);
    o.status = complete ? 'filled' : 'partially_filled';
    o.updated_at = now;
    if (complete) o.filled_at = now;

    const signed = o.side === 'buy' ? qty : qty.neg();
    const positionQty = this.applyToPosition(o.symbol, signed, price);
    this.cash = this.cash.sub(signed.mul(price));

    const n = ++this.seq;
    const executionId = uuidLike(EXECUTION_ID_KIND, n);
    const activity: WireFillActivity = {
      id: activityId(nowDate, uuidLike(ACTIVITY_ID_KIND, n)),
      activity_type: 'FILL',
      transaction_time: now,
      type: complete ? 'fill' : 'partial_fill',
      price: price.toFixed(),
      qty: qty.toFixed(),
      side: o.side,
      symbol: o.symbol,
      leaves_qty: new Decimal(o.qty).sub(cum).toFixed(),
      cum_qty: cum.toFixed(),
      order_id: o.id,
      order_status: o.status,
    };
    this.fillActivities.push(activity);
    this.hooks.emit({
      event: complete ? 'fill' : 'partial_fill',
      execution_id: executionId,
      order: clone(o),
      timestamp: now,
      price: price.toFixed(),
      qty: qty.toFixed(),
      position_qty: positionQty.toFixed(),
    });
    return { executionId, activityId: activity.id, order: clone(o) };
  }

  /** Moves an order to any status (expired, rejected, done_for_day, or one Alpaca has not invented yet). */
  setStatus(orderId: string, status: string, event: string = status): WireOrder {
    const o = this.orders.get(orderId);
    if (!o) throw new Error(`setStatus: unknown order ${orderId}`);
    const now = rfc3339(this.hooks.now());
    o.status = status;
    o.updated_at = now;
    if (status === 'expired') o.expired_at = now;
    if (status === 'canceled') o.canceled_at = now;
    if (status === 'rejected') o.failed_at = now;
    this.hooks.emit({ event, order: clone(o), timestamp: now });
    return clone(o);
  }

  // --- internals -------------------------------------------------------------------

  private newOrder(f: {
    clientOrderId: string;
    symbol: string;
    side: string;
    type: string;
    timeInForce: string;
    qty: string | null;
    notional: string | null;
    limitPrice: string | null;
    stopPrice: string | null;
    trailPrice: string | null;
    trailPercent: string | null;
    extendedHours: boolean;
    positionIntent?: string;
    replaces?: string;
  }): WireOrder {
    const n = ++this.seq;
    const now = rfc3339(this.hooks.now());
    const order: WireOrder = {
      id: uuidLike(ORDER_ID_KIND, n),
      client_order_id: f.clientOrderId,
      created_at: now,
      updated_at: now,
      submitted_at: now,
      filled_at: null,
      expired_at: null,
      canceled_at: null,
      failed_at: null,
      replaced_at: null,
      replaced_by: null,
      replaces: f.replaces ?? null,
      asset_id: this.assetId(f.symbol),
      symbol: f.symbol,
      asset_class: 'us_equity',
      notional: f.notional,
      qty: f.qty,
      filled_qty: '0',
      filled_avg_price: null,
      order_class: 'simple',
      order_type: f.type,
      type: f.type,
      side: f.side,
      time_in_force: f.timeInForce,
      limit_price: f.limitPrice,
      stop_price: f.stopPrice,
      trail_price: f.trailPrice,
      trail_percent: f.trailPercent,
      hwm: null,
      status: 'new',
      extended_hours: f.extendedHours,
      legs: null,
      expires_at: null,
    };
    if (f.positionIntent !== undefined) order.position_intent = f.positionIntent;
    this.orders.set(order.id, order);
    this.orderSeq.set(order.id, n);
    this.byClientOrderId.set(order.client_order_id, order.id);
    return order;
  }

  /** After the answer: the `new` event, then whatever the fill behaviour says. */
  private afterAccept(orderId: string): void {
    this.hooks.schedule(() => {
      const o = this.orders.get(orderId);
      if (!o) return;
      this.hooks.emit({ event: 'new', order: clone(o), timestamp: rfc3339(this.hooks.now()) });
      const behaviour = this.behaviourBySymbol.get(o.symbol) ?? this.globalBehaviour;
      if (behaviour.mode === 'never' || behaviour.mode === 'manual') return;
      if (!this.marketable(o) || o.qty === null) return;
      const steps =
        behaviour.mode === 'instant' ? [new Decimal(o.qty)] : this.split(new Decimal(o.qty), behaviour.steps);
      const delay = behaviour.mode === 'partial' ? (behaviour.stepDelayMs ?? 0) : 0;
      this.runSteps(orderId, steps, delay);
    }, 0);
  }

  private runSteps(orderId: string, steps: Decimal[], delayMs: number): void {
    const [first, ...rest] = steps;
    if (first === undefined) return;
    this.hooks.schedule(() => {
      const o = this.orders.get(orderId);
      if (!o || !isOpen(o) || !this.marketable(o)) return;
      this.fill(orderId, first.toFixed(), this.executionPrice(o));
      this.runSteps(orderId, rest, delayMs);
    }, delayMs);
  }

  /** Market orders always; limit orders when the reference price crosses; stops never (fill them by hand). */
  private marketable(o: WireOrder): boolean {
    if (o.type === 'market') return true;
    if (o.type !== 'limit' || o.limit_price === null) return false;
    const ref = new Decimal(this.price(o.symbol));
    return o.side === 'buy' ? ref.lte(o.limit_price) : ref.gte(o.limit_price);
  }

  private executionPrice(o: WireOrder): string {
    return this.price(o.symbol);
  }

  private split(qty: Decimal, steps: number): Decimal[] {
    const n = qty.isInteger() ? Math.max(1, Math.min(steps, qty.toNumber())) : steps;
    const part = qty.isInteger() ? qty.divToInt(n) : qty.div(n).toDecimalPlaces(9, Decimal.ROUND_DOWN);
    const parts: Decimal[] = Array.from({ length: n - 1 }, () => part);
    parts.push(qty.sub(part.mul(n - 1)));
    return parts;
  }

  private markCanceled(o: WireOrder): void {
    const now = rfc3339(this.hooks.now());
    o.status = 'canceled';
    o.canceled_at = now;
    o.updated_at = now;
    const snapshot = clone(o);
    this.hooks.schedule(() => this.hooks.emit({ event: 'canceled', order: snapshot, timestamp: now }), 0);
  }

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
    const current = new Decimal(this.price(p.symbol));
    const marketValue = p.qty.mul(current);
    const costBasis = p.qty.mul(p.avgEntry);
    const pl = marketValue.sub(costBasis);
    const plpc = costBasis.isZero() ? new Decimal(0) : pl.div(costBasis.abs());
    const qty = p.qty.toFixed();
    return {
      asset_id: this.assetId(p.symbol),
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

  private assetId(symbol: string): string {
    let id = this.assetIds.get(symbol);
    if (id === undefined) {
      id = uuidLike(ASSET_ID_KIND, this.assetIds.size + 1);
      this.assetIds.set(symbol, id);
    }
    return id;
  }

  private sortBySubmission(rows: WireOrder[], direction: 'asc' | 'desc' | string): WireOrder[] {
    const key = (o: WireOrder): [number, number] => [Date.parse(o.submitted_at), this.orderSeq.get(o.id) ?? 0];
    const sorted = [...rows].sort((a, b) => {
      const [ta, sa] = key(a);
      const [tb, sb] = key(b);
      return ta - tb || sa - sb;
    });
    return direction === 'desc' ? sorted.reverse() : sorted;
  }

  /** undefined = absent, null = malformed. */
  private parseTime(text: string | null): Date | undefined | null {
    if (text === null || text === '') return undefined;
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? null : new Date(ms);
  }
}
