/**
 * The broker port: everything the OMS needs from a broker, and nothing of any
 * one broker's wire format. Adapters (alpaca/, sim/) implement it; adding a
 * broker never touches the OMS modules.
 *
 * Rules every adapter keeps:
 * - commands only *send*: their answer is the broker's acknowledgement; fills
 *   and final states come back as OrderUpdates on the stream (or from reports);
 * - quantities and prices are normalized decimal strings, never numbers;
 * - every failure is thrown as a BrokerError classified once, in the adapter:
 *   a timeout, 5xx or lost connection is `unknown_outcome`, never `rejected`
 *   (docs/architecture.md#timeouts-are-not-rejections); only the broker's definitive word is `rejected`;
 * - a submit is never retried by the adapter: the caller resolves an unknown
 *   outcome by looking the order up by client_order_id.
 */
import type { OrderSide, OrderType, TimeInForce } from '../trading/order-status';

/** Statuses as brokers report them (Alpaca's vocabulary, which the OMS shares). */
export type BrokerOrderStatus =
  | 'new'
  | 'partially_filled'
  | 'filled'
  | 'done_for_day'
  | 'canceled'
  | 'expired'
  | 'replaced'
  | 'pending_cancel'
  | 'pending_replace'
  | 'accepted'
  | 'pending_new'
  | 'accepted_for_bidding'
  | 'stopped'
  | 'rejected'
  | 'suspended'
  | 'calculated'
  | 'held';

export interface BrokerOrderRequest {
  clientOrderId: string;
  symbol: string;
  side: OrderSide;
  /** Whole shares, integer string. */
  qty: string;
  type: OrderType;
  timeInForce: TimeInForce;
  limitPrice: string | null;
  stopPrice: string | null;
  /** A trailing stop's trail, in dollars or in percent (exactly one); absent otherwise. */
  trailPrice?: string | null;
  trailPercent?: string | null;
  /** Eligible for the pre- and after-market sessions; absent means false. */
  extendedHours?: boolean;
  /**
   * bracket / oto / oco: one broker order carrying its legs (absent or simple: no legs). The broker answers
   * the legs in `BrokerOrder.legs`, each with its own ids.
   */
  orderClass?: 'simple' | 'bracket' | 'oto' | 'oco';
  takeProfit?: { limitPrice: string } | null;
  stopLoss?: { stopPrice: string; limitPrice: string | null } | null;
}

/** A broker's view of one order. */
export interface BrokerOrder {
  id: string;
  clientOrderId: string;
  symbol: string;
  side: OrderSide;
  type: string;
  timeInForce: string;
  qty: string | null;
  limitPrice: string | null;
  stopPrice: string | null;
  /** A trailing stop's trail and its high-water mark (the best price since it was placed), when the broker says. */
  trailPrice?: string | null;
  trailPercent?: string | null;
  hwm?: string | null;
  /** Unrecognised statuses are passed through as-is and treated as non-terminal. */
  status: BrokerOrderStatus | string;
  /** Cumulative; the truth from which fill increments are derived. */
  filledQty: string;
  filledAvgPrice: string | null;
  createdAt: Date;
  updatedAt: Date | null;
  submittedAt: Date | null;
  filledAt: Date | null;
  canceledAt: Date | null;
  /** Set when this order was replaced by another. */
  replacedBy: string | null;
  replaces: string | null;
  /** simple, bracket, oto or oco, when the broker says ("" reads as simple). */
  orderClass?: string;
  /**
   * The legs of a bracket/oto/oco order (a take-profit limit, a stop-loss stop or stop-limit), each with
   * the broker's own ids: its client_order_id is the broker's, not the gateway's `<entry>-tp`/`-sl`.
   */
  legs?: BrokerOrder[];
}

export interface BrokerReplaceRequest {
  qty?: string;
  limitPrice?: string;
  stopPrice?: string;
  /** A trailing stop's new trail, in the unit the order has (trail_price or trail_percent): Alpaca's `trail`. */
  trail?: string;
  timeInForce?: TimeInForce;
  /** client_order_id for the new order that a replace creates. */
  clientOrderId?: string;
}

/** One execution. `executionId` is the broker's id for it (trade-update execution_id or activity id). */
export interface BrokerFill {
  executionId: string;
  brokerOrderId: string;
  symbol: string;
  side: OrderSide;
  qty: string;
  price: string;
  /** Cumulative filled quantity of the order after this execution, when the broker says. */
  cumQty: string | null;
  leavesQty: string | null;
  transactionTime: Date;
}

export interface BrokerPosition {
  symbol: string;
  /** Signed: negative for a short. */
  qty: string;
  avgEntryPrice: string;
  marketValue: string | null;
  currentPrice: string | null;
  unrealizedPl: string | null;
}

export interface BrokerAccount {
  id: string;
  status: string;
  currency: string;
  cash: string;
  equity: string;
  buyingPower: string;
  lastEquity: string | null;
  /** Market value of the long positions (≥ 0); null when the broker does not say. */
  longMarketValue: string | null;
  /** Market value of the short positions (≤ 0, as Alpaca reports it); null when the broker does not say. */
  shortMarketValue: string | null;
  /** Any of the account's trading blocks is set. */
  tradingBlocked: boolean;
}

export type OrderUpdateEvent =
  | 'new'
  | 'accepted'
  | 'pending_new'
  | 'fill'
  | 'partial_fill'
  | 'canceled'
  | 'expired'
  | 'done_for_day'
  | 'replaced'
  | 'rejected'
  | 'stopped'
  | 'pending_cancel'
  | 'pending_replace'
  | 'calculated'
  | 'suspended'
  | 'order_replace_rejected'
  | 'order_cancel_rejected';

/** One order event from the broker (stream, webhook), normalized. */
export interface OrderUpdate {
  /** Unknown events are passed through; consumers reconcile the order over REST. */
  event: OrderUpdateEvent | string;
  /** The order as it stands after the event (cumulative filled_qty). */
  order: BrokerOrder;
  at: Date;
  /** On fill/partial_fill: this execution. */
  execution?: { executionId: string; qty: string; price: string; positionQty: string | null };
}

export interface ListOrdersQuery {
  status: 'open' | 'closed' | 'all';
  after?: Date;
  until?: Date;
  limit?: number;
  symbols?: string[];
}

export interface ListFillsQuery {
  after?: Date;
  until?: Date;
  /** Resume after this execution id (the broker's page token). */
  pageToken?: string;
  pageSize?: number;
}

export type StreamState = 'disconnected' | 'connecting' | 'connected';

export interface BrokerStreamHandlers {
  onUpdate(update: OrderUpdate): void | Promise<void>;
  /** After every (re)connection: updates may have been missed; re-sync over REST. */
  onConnected(reconnect: boolean): void | Promise<void>;
  onStateChange?(state: StreamState, reason?: string): void;
}

export interface BrokerClient {
  /** `alpaca`, `sim`, … for logs, metrics and health. */
  readonly name: string;

  // --- commands: the answer is the acknowledgement -----------------------
  submitOrder(req: BrokerOrderRequest, opts?: { timeoutMs?: number }): Promise<BrokerOrder>;
  /** Resolves when the broker accepted the cancel request (not when the order is canceled). */
  cancelOrder(brokerOrderId: string): Promise<void>;
  replaceOrder(brokerOrderId: string, req: BrokerReplaceRequest): Promise<BrokerOrder>;
  /** Per order: the HTTP-like status of its cancel request. */
  cancelAllOrders(): Promise<Array<{ brokerOrderId: string; status: number }>>;
  /** Liquidates the position (all of it, or `qty` shares); returns the closing order. */
  closePosition(symbol: string, opts?: { qty?: string }): Promise<BrokerOrder>;

  // --- reports -----------------------------------------------------------
  getOrder(brokerOrderId: string): Promise<BrokerOrder | null>;
  /** null when the broker does not know the id (which is not proof it never will). */
  getOrderByClientOrderId(clientOrderId: string): Promise<BrokerOrder | null>;
  listOrders(q: ListOrdersQuery): Promise<BrokerOrder[]>;
  listPositions(): Promise<BrokerPosition[]>;
  /** One page of executions, oldest first; `nextPageToken` null on the last page. */
  listFills(q: ListFillsQuery): Promise<{ fills: BrokerFill[]; nextPageToken: string | null }>;
  getAccount(): Promise<BrokerAccount>;

  // --- the update stream -------------------------------------------------
  connect(handlers: BrokerStreamHandlers): Promise<void>;
  disconnect(): Promise<void>;
  streamState(): StreamState;
}

export const BROKER_CLIENT = Symbol('BROKER_CLIENT');

export type BrokerErrorKind =
  /** Try again later (429, transient); the request was not acted on. */
  | 'retryable'
  /** The broker's definitive no (4xx validation, buying power, not cancelable …). */
  | 'rejected'
  /** The request may or may not have been acted on (timeout, 5xx, disconnect). */
  | 'unknown_outcome'
  /** The broker does not know the object. */
  | 'not_found'
  /** Credentials refused: configuration, not the order. */
  | 'auth';

export class BrokerError extends Error {
  constructor(
    readonly kind: BrokerErrorKind,
    message: string,
    readonly details: {
      status?: number;
      code?: number | string;
      retryAfterMs?: number;
      /** The client_order_id is already taken at the broker (a resubmission landed earlier). */
      duplicateClientOrderId?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(message);
    this.name = 'BrokerError';
  }
}
