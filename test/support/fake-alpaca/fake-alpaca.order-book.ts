/**
 * The fake broker's order book: every order ever accepted, indexed by id and
 * client_order_id, and the order endpoints' request handling (validation,
 * lookup, listing, cancel, replace). Executions against these orders are the
 * exchange's (fake-alpaca.exchange.ts); accepted orders are handed to it
 * through `onAccepted`.
 *
 * A client_order_id is never reused, even after the order is canceled or replaced.
 *
 * Bracket / OTO / OCO (`order_class` with `take_profit` / `stop_loss`): one
 * order carrying its legs. Each leg is an order of its own, with an id and a
 * client_order_id the fake makes up (as Alpaca does), answered nested in the
 * parent's `legs` (the POST answer, GET by id or client id, GET ?nested=true)
 * and listed flat without `nested`. A bracket's or OTO's legs are `held`
 * until the entry fills; an OCO is its take-profit limit with the stop-loss as
 * its one leg, both working. Canceling the parent cancels its open legs.
 */
import {
  ERR_DUPLICATE_CLIENT_ORDER_ID,
  ERR_ORDER_NOT_FOUND,
  rfc3339,
  uuidLike,
  validationError,
  type WireOrder,
  type WireResponse,
} from './fake-alpaca.wire';
import {
  clone,
  GENERATED_CLIENT_ORDER_ID_KIND,
  isOpen,
  parseDecimal,
  parseTime,
  type ExchangeHooks,
  type Sequence,
} from './fake-alpaca.values';
import { legOrders, parseLegs, type WireLegs } from './fake-alpaca.legs';

export interface OrderBookHooks extends ExchangeHooks {
  /** An order was accepted (submitted, replacing another, or closing a position): the exchange takes it from here. */
  onAccepted(orderId: string): void;
}

/** What an order is made of; newOrder() fills in the rest as Alpaca does for a fresh order. */
export interface NewOrderFields {
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
  orderClass?: string;
  /** A leg: held until its entry fills. */
  status?: string;
}

type Query = URLSearchParams;

const ORDER_TYPES = new Set(['market', 'limit', 'stop', 'stop_limit', 'trailing_stop']);
const LEG_ORDER_ID_KIND = 0x0a1e;
const TIME_IN_FORCE = new Set(['day', 'gtc', 'opg', 'cls', 'ioc', 'fok']);
const REPLACEABLE = new Set(['new', 'partially_filled', 'held', 'done_for_day']);
const ORDER_ID_KIND = 0x0a1d;
const ASSET_ID_KIND = 0x0a55;

export class FakeOrderBook {
  private readonly orders = new Map<string, WireOrder>();
  private readonly orderSeq = new Map<string, number>();
  private readonly byClientOrderId = new Map<string, string>();
  private readonly assetIds = new Map<string, string>();
  /** An order with legs → its legs' ids (take-profit first); a leg → its parent. */
  private readonly legIds = new Map<string, string[]>();
  private readonly parentIds = new Map<string, string>();

  constructor(
    private readonly hooks: OrderBookHooks,
    private readonly seq: Sequence,
  ) {}

  /** Forgets every order; asset ids stay as they were handed out. */
  reset(): void {
    this.orders.clear();
    this.orderSeq.clear();
    this.byClientOrderId.clear();
    this.legIds.clear();
    this.parentIds.clear();
  }

  /** The order as the wire shows it: its legs nested (fresh copies) when it has any. */
  wire(o: WireOrder): WireOrder {
    const out = clone(o);
    const legs = this.legIds.get(o.id);
    if (legs) out.legs = legs.map((id) => clone(this.orders.get(id)!));
    return out;
  }

  /** The legs of an order (the stored orders themselves), take-profit first. */
  legsOf(id: string): WireOrder[] {
    return (this.legIds.get(id) ?? []).map((legId) => this.orders.get(legId)!);
  }

  /** A leg's parent (the stored order), if `id` is a leg. */
  parentOf(id: string): WireOrder | undefined {
    const parent = this.parentIds.get(id);
    return parent === undefined ? undefined : this.orders.get(parent);
  }

  /**
   * The order that is cancelled when `id` executes: its OCO sibling. For a
   * bracket's leg, the other leg; for an OCO's parent, its leg; for an OCO's
   * leg, the parent.
   */
  ocoSiblingOf(id: string): WireOrder | undefined {
    const o = this.orders.get(id);
    if (!o) return undefined;
    const parent = this.parentOf(id);
    if (parent) {
      if (parent.order_class === 'oco') return parent;
      if (parent.order_class === 'bracket') return this.legsOf(parent.id).find((l) => l.id !== id);
      return undefined;
    }
    return o.order_class === 'oco' ? this.legsOf(id)[0] : undefined;
  }

  // --- inspection --------------------------------------------------------------

  /** The stored order itself (not a copy): for the exchange to execute against. */
  live(id: string): WireOrder | undefined {
    return this.orders.get(id);
  }

  allOrders(): WireOrder[] {
    return [...this.orders.values()].map(clone);
  }

  order(id: string): WireOrder | undefined {
    const o = this.orders.get(id);
    return o && this.wire(o);
  }

  orderByClientOrderId(clientOrderId: string): WireOrder | undefined {
    const id = this.byClientOrderId.get(clientOrderId);
    return id === undefined ? undefined : this.order(id);
  }

  // --- order endpoints -----------------------------------------------------------

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
      clientOrderId = uuidLike(GENERATED_CLIENT_ORDER_ID_KIND, this.seq.peek());
    } else if (typeof b.client_order_id !== 'string' || b.client_order_id.length > 128) {
      return validationError('client_order_id must be a string of at most 128 characters');
    } else {
      clientOrderId = b.client_order_id;
    }
    if (this.byClientOrderId.has(clientOrderId)) return { status: 422, body: ERR_DUPLICATE_CLIENT_ORDER_ID };
    const legs = parseLegs(b);
    if ('status' in legs) return legs;

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
      orderClass: legs.orderClass,
    });
    this.addLegs(order, legs);
    this.hooks.onAccepted(order.id);
    return { status: 200, body: this.wire(order) };
  }

  /** Stores the legs of a fresh order (fake-alpaca.legs.ts) and links them to it. */
  private addLegs(parent: WireOrder, legs: WireLegs): void {
    if (legs.orderClass === 'simple') return;
    const ids = legOrders(parent, legs).map(
      (f) => this.newOrder({ ...f, clientOrderId: uuidLike(LEG_ORDER_ID_KIND, this.seq.peek()) }).id,
    );
    this.legIds.set(parent.id, ids);
    for (const id of ids) this.parentIds.set(id, parent.id);
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
    const after = parseTime(query.get('after'));
    const until = parseTime(query.get('until'));
    if (after === null || until === null) return validationError('invalid timestamp');
    const symbols = query.get('symbols')?.split(',').filter(Boolean);
    const side = query.get('side');
    const nested = query.get('nested') === 'true';

    let rows = [...this.orders.values()].filter((o) => {
      if (nested && this.parentIds.has(o.id)) return false; // nested under its parent
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
    return {
      status: 200,
      body: rows.slice(0, Math.min(limit, 500)).map((o) => (nested ? this.wire(o) : clone(o))),
    };
  }

  cancel(id: string): WireResponse {
    const o = this.orders.get(id);
    if (!o) return { status: 404, body: ERR_ORDER_NOT_FOUND };
    if (!isOpen(o)) return { status: 422, body: { code: 42210000, message: 'order is not cancelable' } };
    this.markCanceled(o);
    return { status: 204 };
  }

  /** Cancels an order still open (an OCO sibling, a canceled entry's leg); no-op otherwise. */
  cancelIfOpen(o: WireOrder): void {
    if (isOpen(o)) this.markCanceled(o);
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
    const trail = b.trail == null ? undefined : parseDecimal(b.trail);
    if (b.trail != null && !(trail && trail.gt(0))) return validationError('invalid trail');
    if (trail && old.type !== 'trailing_stop') return validationError('trail is only for trailing_stop orders');
    if (limit && old.type !== 'limit' && old.type !== 'stop_limit') {
      return validationError('limit_price is only for limit and stop_limit orders');
    }
    if (stop && old.type !== 'stop' && old.type !== 'stop_limit') {
      return validationError('stop_price is only for stop and stop_limit orders');
    }
    let clientOrderId: string;
    if (b.client_order_id == null) clientOrderId = uuidLike(GENERATED_CLIENT_ORDER_ID_KIND, this.seq.peek());
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
      // `trail` is the new value in the unit the order already has (trail_price or trail_percent).
      trailPrice: trail && old.trail_price != null ? trail.toFixed() : old.trail_price,
      trailPercent: trail && old.trail_price == null ? trail.toFixed() : old.trail_percent,
      extendedHours: old.extended_hours,
      positionIntent: old.position_intent,
      replaces: old.id,
    });
    const now = rfc3339(this.hooks.now());
    old.status = 'replaced';
    old.replaced_by = replacement.id;
    old.replaced_at = now;
    old.updated_at = now;
    const oldSnapshot = this.wire(old);
    this.hooks.schedule(() => this.hooks.emit({ event: 'replaced', order: oldSnapshot, timestamp: now }), 0);
    this.hooks.onAccepted(replacement.id);
    return { status: 200, body: clone(replacement) };
  }

  // --- internals -------------------------------------------------------------------

  /** Stores a fresh order (status new) and indexes it; the caller decides whether it is accepted. */
  newOrder(f: NewOrderFields): WireOrder {
    const n = this.seq.next();
    const now = rfc3339(this.hooks.now());
    const order: WireOrder = {
      id: uuidLike(f.status === undefined ? ORDER_ID_KIND : LEG_ORDER_ID_KIND, n),
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
      order_class: f.orderClass ?? 'simple',
      order_type: f.type,
      type: f.type,
      side: f.side,
      time_in_force: f.timeInForce,
      limit_price: f.limitPrice,
      stop_price: f.stopPrice,
      trail_price: f.trailPrice,
      trail_percent: f.trailPercent,
      hwm: null,
      status: f.status ?? 'new',
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

  private markCanceled(o: WireOrder): void {
    const now = rfc3339(this.hooks.now());
    o.status = 'canceled';
    o.canceled_at = now;
    o.updated_at = now;
    // As Alpaca: an entry's (or an OCO's) open legs go with it; its update shows them canceled.
    for (const leg of this.legsOf(o.id)) this.cancelIfOpen(leg);
    const snapshot = this.wire(o);
    this.hooks.schedule(() => this.hooks.emit({ event: 'canceled', order: snapshot, timestamp: now }), 0);
  }

  /** The asset id Alpaca gives a symbol: stable for the life of the server (reset keeps it). */
  assetId(symbol: string): string {
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
}
