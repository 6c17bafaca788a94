/**
 * BrokerClient on Alpaca's official SDK (@alpacahq/alpaca-trade-api 4.x).
 *
 * Design choices:
 * - The raw generated APIs on a `trading.Configuration({ basePath })`, not the
 *   `Alpaca` facade with a URL-rewriting middleware: the facade has no basePath
 *   and silently falls back to paper-api when a rewrite pattern misses, whereas
 *   basePath sends every request exactly where ALPACA_BASE_URL says, which is
 *   also the URL the live-trading guard (docs/configuration.md#paper-trading-guard) inspected.
 * - No SDK retries, for any verb (retry unset: maxRetries 0). Commands must never
 *   be replayed (docs/architecture.md#no-duplicate-broker-order, docs/architecture.md#timeouts-are-not-rejections); for reads, the callers (status polling,
 *   reconciliation) already run on schedules, and a hidden retry would only
 *   stretch their deadlines. A 429 comes back as `retryable` with retryAfterMs.
 * - No client-side rate limiter (rateLimit unset): a request parked in the
 *   SDK's queue until our deadline expired would be reported as an unknown
 *   outcome although it never left the process. The gateway limits its own
 *   callers, and Alpaca's 429 is honoured through retryAfterMs.
 * - One deadline per call, as an AbortSignal covering connect, answer and body
 *   (the SDK's own per-attempt timeout is disabled so the two cannot disagree).
 * - Every failure goes through classifyAlpacaError once.
 */
import { trading } from '@alpacahq/alpaca-trade-api';
import {
  BrokerError,
  type BrokerAccount,
  type BrokerClient,
  type BrokerFill,
  type BrokerOrder,
  type BrokerOrderRequest,
  type BrokerPosition,
  type BrokerReplaceRequest,
  type BrokerStreamHandlers,
  type ListFillsQuery,
  type ListOrdersQuery,
  type StreamState,
} from '../broker-client.port';
import { classifyAlpacaError } from './alpaca-errors';
import { SILENT_LOGGER, type AlpacaLogger } from './alpaca-logger';
import {
  isFillActivity,
  positionCloseQty,
  toBrokerAccount,
  toBrokerFill,
  toBrokerOrder,
  toBrokerPosition,
  toPatchOrderRequest,
  toPostOrderRequest,
} from './alpaca-parse';
import { AlpacaTradeStream, DEFAULT_STREAM_TUNING, type AlpacaStreamTuning } from './alpaca-trade-stream';

export interface AlpacaBrokerClientOptions {
  keyId: string;
  secretKey: string;
  /** REST root without `/v2`, e.g. https://paper-api.alpaca.markets. */
  baseUrl: string;
  /** trade_updates WebSocket, e.g. wss://paper-api.alpaca.markets/stream. */
  streamUrl: string;
  /** Deadline of one order submission (BROKER_SUBMIT_TIMEOUT_MS). */
  submitTimeoutMs: number;
  /** Deadline of every other call. Default 10 000. */
  requestTimeoutMs?: number;
  logger?: AlpacaLogger;
  stream?: Partial<AlpacaStreamTuning>;
}

/** Alpaca's page_size maximum for account activities. */
const MAX_ACTIVITY_PAGE = 100;
/** Alpaca's limit maximum for GET /v2/orders (its default, 50, is too small to reconcile with). */
const MAX_ORDERS_LIMIT = 500;

export class AlpacaBrokerClient implements BrokerClient {
  readonly name = 'alpaca';
  private readonly orders: trading.OrdersApi;
  private readonly positions: trading.PositionsApi;
  private readonly accounts: trading.AccountsApi;
  private readonly activities: trading.AccountActivitiesApi;
  private readonly logger: AlpacaLogger;
  private readonly requestTimeoutMs: number;
  private readonly tuning: AlpacaStreamTuning;
  private stream?: AlpacaTradeStream;

  constructor(private readonly options: AlpacaBrokerClientOptions) {
    if (!options.keyId || !options.secretKey) throw new Error('AlpacaBrokerClient needs a key id and a secret');
    this.logger = options.logger ?? SILENT_LOGGER;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.tuning = { ...DEFAULT_STREAM_TUNING, ...options.stream };
    const config = new trading.Configuration({
      basePath: options.baseUrl.replace(/\/+$/, ''),
      keyId: options.keyId,
      secret: options.secretKey,
      // Our AbortSignal is the deadline (see the top of this file); 0 disables the SDK's own.
      timeoutMs: 0,
      // retry and rateLimit deliberately unset: off (see the top of this file).
    });
    this.orders = new trading.OrdersApi(config);
    this.positions = new trading.PositionsApi(config);
    this.accounts = new trading.AccountsApi(config);
    this.activities = new trading.AccountActivitiesApi(config);
  }

  // --- commands ---------------------------------------------------------------------

  async submitOrder(req: BrokerOrderRequest, opts?: { timeoutMs?: number }): Promise<BrokerOrder> {
    return this.call(
      'submitOrder',
      opts?.timeoutMs ?? this.options.submitTimeoutMs,
      async (init) => {
        const body = toPostOrderRequest(req);
        return toBrokerOrder(await this.orders.postOrder({ postOrderRequest: body }, init));
      },
      { client_order_id: req.clientOrderId, symbol: req.symbol },
    );
  }

  async cancelOrder(brokerOrderId: string): Promise<void> {
    await this.call(
      'cancelOrder',
      this.requestTimeoutMs,
      (init) => this.orders.deleteOrderByOrderID({ orderId: brokerOrderId }, init),
      { brokerOrderId },
    );
  }

  async replaceOrder(brokerOrderId: string, req: BrokerReplaceRequest): Promise<BrokerOrder> {
    return this.call(
      'replaceOrder',
      this.requestTimeoutMs,
      async (init) => {
        const body = toPatchOrderRequest(req);
        return toBrokerOrder(
          await this.orders.patchOrderByOrderId({ orderId: brokerOrderId, patchOrderRequest: body }, init),
        );
      },
      { brokerOrderId, client_order_id: req.clientOrderId },
    );
  }

  async cancelAllOrders(): Promise<Array<{ brokerOrderId: string; status: number }>> {
    return this.call('cancelAllOrders', this.requestTimeoutMs, async (init) => {
      const results = await this.orders.deleteAllOrders(init);
      return results.flatMap((r) =>
        typeof r.id === 'string' ? [{ brokerOrderId: r.id, status: typeof r.status === 'number' ? r.status : 0 }] : [],
      );
    });
  }

  async closePosition(symbol: string, opts?: { qty?: string }): Promise<BrokerOrder> {
    return this.call(
      'closePosition',
      this.requestTimeoutMs,
      async (init) => {
        const qty = opts?.qty === undefined ? undefined : positionCloseQty(opts.qty);
        // The SDK types `qty` as a number but writes it with String(value): passing the
        // decimal string through keeps it exact on the wire.
        const request: trading.DeleteOpenPositionRequest = {
          symbolOrAssetId: symbol,
          ...(qty === undefined ? {} : { qty: qty as unknown as number }),
        };
        return toBrokerOrder(await this.positions.deleteOpenPosition(request, init));
      },
      { symbol },
    );
  }

  // --- reports ---------------------------------------------------------------------

  async getOrder(brokerOrderId: string): Promise<BrokerOrder | null> {
    return this.nullOnNotFound(
      this.call(
        'getOrder',
        this.requestTimeoutMs,
        async (init) =>
          toBrokerOrder(await this.orders.getOrderByOrderID({ orderId: brokerOrderId, nested: true }, init)),
        { brokerOrderId },
      ),
    );
  }

  async getOrderByClientOrderId(clientOrderId: string): Promise<BrokerOrder | null> {
    return this.nullOnNotFound(
      this.call(
        'getOrderByClientOrderId',
        this.requestTimeoutMs,
        async (init) => toBrokerOrder(await this.orders.getOrderByClientOrderId({ clientOrderId }, init)),
        { client_order_id: clientOrderId },
      ),
    );
  }

  async listOrders(q: ListOrdersQuery): Promise<BrokerOrder[]> {
    return this.call('listOrders', this.requestTimeoutMs, async (init) => {
      const orders = await this.orders.getAllOrders(
        {
          status: q.status,
          limit: Math.min(q.limit ?? MAX_ORDERS_LIMIT, MAX_ORDERS_LIMIT),
          after: q.after?.toISOString(),
          until: q.until?.toISOString(),
          direction: 'desc',
          // Legs of bracket/oto/oco orders under their parent, so they are known as legs.
          nested: true,
          symbols: q.symbols && q.symbols.length > 0 ? q.symbols.join(',') : undefined,
        },
        init,
      );
      return orders.map(toBrokerOrder);
    });
  }

  async listPositions(): Promise<BrokerPosition[]> {
    return this.call('listPositions', this.requestTimeoutMs, async (init) =>
      (await this.positions.getAllOpenPositions(init)).map(toBrokerPosition),
    );
  }

  /**
   * FILL activities, oldest first. getAccountActivities (not
   * getAccountActivitiesByActivityType, which drops the trade fields in 4.0.2).
   * A full page means there may be more: its last id is the next page token.
   */
  async listFills(q: ListFillsQuery): Promise<{ fills: BrokerFill[]; nextPageToken: string | null }> {
    const pageSize = Math.max(1, Math.min(q.pageSize ?? MAX_ACTIVITY_PAGE, MAX_ACTIVITY_PAGE));
    return this.call('listFills', this.requestTimeoutMs, async (init) => {
      const page = await this.activities.getAccountActivities(
        {
          activityTypes: ['FILL'],
          direction: 'asc',
          after: q.after,
          until: q.until,
          pageSize,
          pageToken: q.pageToken,
        },
        init,
      );
      const last = page.at(-1);
      const lastId = last === undefined ? undefined : (last as Record<string, unknown>).id;
      return {
        fills: page.filter(isFillActivity).map(toBrokerFill),
        nextPageToken: page.length >= pageSize && typeof lastId === 'string' ? lastId : null,
      };
    });
  }

  async getAccount(): Promise<BrokerAccount> {
    return this.call('getAccount', this.requestTimeoutMs, async (init) =>
      toBrokerAccount(await this.accounts.getAccount(init)),
    );
  }

  // --- stream ---------------------------------------------------------------------------

  /** Starts the trade_updates stream (replacing any previous one); see AlpacaTradeStream.start. */
  async connect(handlers: BrokerStreamHandlers): Promise<void> {
    if (this.stream) await this.stream.stop();
    this.stream = new AlpacaTradeStream({
      keyId: this.options.keyId,
      secretKey: this.options.secretKey,
      url: this.options.streamUrl,
      logger: this.logger,
      tuning: this.tuning,
    });
    await this.stream.start(handlers);
  }

  async disconnect(): Promise<void> {
    const stream = this.stream;
    this.stream = undefined;
    await stream?.stop();
  }

  streamState(): StreamState {
    return this.stream?.state() ?? 'disconnected';
  }

  // --- plumbing ---------------------------------------------------------------------------

  /** Runs one SDK call under a deadline; any failure leaves as a classified BrokerError. */
  private async call<T>(
    operation: string,
    timeoutMs: number,
    fn: (init: RequestInit) => Promise<T>,
    context: Record<string, unknown> = {},
  ): Promise<T> {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      return await fn({ signal });
    } catch (err) {
      const e = classifyAlpacaError(err, operation, signal.aborted ? { deadlineExceededMs: timeoutMs } : {});
      if (e.kind !== 'not_found') {
        const log = e.kind === 'rejected' ? this.logger.info : this.logger.warn;
        log.call(this.logger, 'alpaca call failed', {
          operation,
          kind: e.kind,
          status: e.details.status,
          code: e.details.code,
          retryAfterMs: e.details.retryAfterMs,
          duplicateClientOrderId: e.details.duplicateClientOrderId,
          error: e.message,
          ...context,
        });
      }
      throw e;
    }
  }

  private async nullOnNotFound<T>(p: Promise<T>): Promise<T | null> {
    try {
      return await p;
    } catch (err) {
      if (err instanceof BrokerError && err.kind === 'not_found') return null;
      throw err;
    }
  }
}
