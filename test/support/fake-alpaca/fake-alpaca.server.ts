/**
 * Fake Alpaca: an in-process HTTP + WebSocket server on 127.0.0.1:<random port>
 * that speaks Alpaca's trading wire format (snake_case JSON, decimal strings,
 * RFC-3339 timestamps), so tests can run the real SDK and the real adapter
 * against it.
 *
 * REST (auth: APCA-API-KEY-ID / APCA-API-SECRET-KEY, else 401 {"message":"unauthorized"}):
 *   POST   /v2/orders                           validates; duplicate client_order_id → 422 40010001, forever
 *   GET    /v2/orders                           status=open|closed|all, limit, after, until, direction, symbols, side
 *   GET    /v2/orders/{id}                      404 {"code":40410000,"message":"order not found"}
 *   GET    /v2/orders:by_client_order_id        ?client_order_id=…; 404 as above
 *   PATCH  /v2/orders/{id}                      replace: a new order with `replaces`; the old one `replaced`
 *   DELETE /v2/orders/{id}                      204; 422 when not cancelable
 *   DELETE /v2/orders                           207 [{id,status}]
 *   GET    /v2/positions, GET|DELETE /v2/positions/{symbol} (DELETE returns the closing order; ?qty|percentage)
 *   GET    /v2/account
 *   GET    /v2/account/activities[/{type}]      FILL activities; activity_types, after, until, date
 *                                               (YYYY-MM-DD or a full timestamp), direction, page_size, page_token
 * Stream at /stream (trade_updates protocol: authenticate → authorization, listen → listening, then
 * {"stream":"trade_updates","data":{event, execution_id, order, timestamp, price, qty, position_qty}}),
 * as text or binary frames (`frames` option / setFrameMode).
 * Market data (GET /v2/stocks/{symbol}/trades/latest | quotes/latest | bars) is served on the same port:
 * fake-alpaca.market-data.ts, controlled through `marketData`.
 *
 * Parts: the books in fake-alpaca.exchange.ts, the trading routes in fake-alpaca.routes.ts, faults in
 * fake-alpaca.faults.ts, the stream in fake-alpaca.stream.ts; this file wires them to HTTP.
 *
 * Reconciliation scenarios: setPosition(), plantOrder() (an order the gateway never sent),
 * dropStreamFills() (fills reach activities but not the stream), dropStreamEventsOf() (one order's updates
 * lost), setUnreachable() (every request reset).
 *
 * Test control (plain methods, no HTTP): setFillBehaviour (never | manual | instant | partial),
 * fill(), setPrice(), setOrderStatus(), setAccount(); faults: failNext(), rejectNext(),
 * dropResponseAfterAccept(), delayResponse(); stream: replayLastEvents(), silenceStream(),
 * dropStreamConnections(), emitEvent(), emitFrame(); inspection: postOrderCount(), orders(),
 * requests(), streamStats(); whenIdle() waits for scheduled events; reset() between tests.
 *
 * Ids are deterministic (uuid-like counters); timestamps come from `clock` (default: the real one).
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeExchange, type FillBehaviour, type FillResult } from './fake-alpaca.exchange';
import { failure, FaultPlan, RateLimitMode, type DelayOptions, type FailOptions } from './fake-alpaca.faults';
import { FakeMarketData } from './fake-alpaca.market-data';
import {
  handleTrading,
  matchRoute,
  readBody,
  writeAnswer,
  type FakeRoute,
  type FaultRoute,
} from './fake-alpaca.routes';
import { FakeTradeStream, type StreamStats } from './fake-alpaca.stream';
import { FakeTimers } from './fake-alpaca.timers';
import {
  ERR_INSUFFICIENT_BUYING_POWER,
  ERR_UNAUTHORIZED,
  type WireAccount,
  type WireFillActivity,
  type WireOrder,
  type WirePosition,
  type WireResponse,
  type WireTradeUpdate,
} from './fake-alpaca.wire';

export type { FillBehaviour, FillResult } from './fake-alpaca.exchange';
export type { DelayOptions, FailOptions } from './fake-alpaca.faults';
export type { FakeRoute, FaultRoute } from './fake-alpaca.routes';
export type { StreamStats } from './fake-alpaca.stream';
export type * from './fake-alpaca.wire';

export interface FakeAlpacaOptions {
  keyId?: string;
  secretKey?: string;
  /** Stream frame type. Alpaca's paper stream is said to send binary frames. Default 'text'. */
  frames?: 'text' | 'binary';
  clock?: () => Date;
  /** Reference price for symbols without setPrice(). Default '100'. */
  defaultPrice?: string;
}

export interface RecordedRequest {
  seq: number;
  method: string;
  path: string;
  route: FakeRoute | null;
  query: Record<string, string>;
  body: unknown;
  keyId: string | undefined;
  at: Date;
}

export class FakeAlpacaServer {
  readonly keyId: string;
  readonly secretKey: string;
  private readonly http: Server;
  private readonly exchange: FakeExchange;
  private readonly stream: FakeTradeStream;
  private readonly plan = new FaultPlan();
  /** Alpaca's per-minute limit on trading requests, when set (setRateLimit). */
  readonly rateLimit = new RateLimitMode();
  /** Market data endpoints (/v2/stocks/...) and their controls: fake-alpaca.market-data.ts. */
  readonly marketData: FakeMarketData;
  /** Scheduled exchange work (cleared by reset) and response delays (cleared only by stop). */
  private readonly timers = new FakeTimers((err) => this.errors.push(err));
  private readonly log: RecordedRequest[] = [];
  private readonly postsByClientOrderId = new Map<string, number>();
  private readonly errors: unknown[] = [];
  private clock: () => Date;
  private unreachable = false;
  private postOrders = 0;
  private requestSeq = 0;
  private port = 0;

  constructor(options: FakeAlpacaOptions = {}) {
    this.keyId = options.keyId ?? 'fake-key-id';
    this.secretKey = options.secretKey ?? 'fake-secret-key';
    this.clock = options.clock ?? (() => new Date());
    this.stream = new FakeTradeStream({
      keyId: this.keyId,
      secretKey: this.secretKey,
      frames: options.frames ?? 'text',
    });
    this.exchange = new FakeExchange(
      {
        now: () => this.clock(),
        emit: (u) => this.stream.broadcast(u),
        schedule: (fn, ms) => this.timers.schedule(fn, ms),
      },
      options.defaultPrice,
    );
    this.marketData = new FakeMarketData({
      keyId: this.keyId,
      secretKey: this.secretKey,
      now: () => this.clock(),
      referencePrice: (symbol) => this.exchange.price(symbol),
    });
    this.http = createServer((req, res) => void this.onRequest(req, res));
    this.stream.attach(this.http);
  }

  // --- lifecycle ---------------------------------------------------------------

  async start(): Promise<this> {
    this.http.listen(0, '127.0.0.1');
    await once(this.http, 'listening');
    this.port = (this.http.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.timers.stop();
    this.stream.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get streamUrl(): string {
    return `ws://127.0.0.1:${this.port}/stream`;
  }

  /** Forgets orders, positions, faults, logs and counters; keeps the server and open stream sockets. */
  reset(): void {
    this.timers.reset();
    this.exchange.reset();
    this.marketData.reset();
    this.stream.reset();
    this.log.length = 0;
    this.postsByClientOrderId.clear();
    this.plan.reset();
    this.rateLimit.set(null);
    this.errors.length = 0;
    this.postOrders = 0;
    this.unreachable = false;
  }

  setClock(clock: () => Date): void {
    this.clock = clock;
  }

  // --- market and order control --------------------------------------------------

  setPrice(symbol: string, price: string): void {
    this.exchange.setPrice(symbol, price);
  }

  /** For one symbol, or for every symbol without its own behaviour. */
  setFillBehaviour(behaviour: FillBehaviour, symbol?: string): void {
    this.exchange.setFillBehaviour(behaviour, symbol);
  }

  /** One execution: updates order, position, activities; emits partial_fill or fill. */
  fill(orderId: string, qty: string, price?: string): FillResult {
    return this.exchange.fill(orderId, qty, price);
  }

  setOrderStatus(orderId: string, status: string, event?: string): WireOrder {
    return this.exchange.setStatus(orderId, status, event);
  }

  setAccount(patch: Partial<WireAccount>): void {
    this.exchange.setAccount(patch);
  }

  // --- reconciliation scenarios ---------------------------------------------------------

  /** Sets a broker position directly (no order, fill or activity). qty '0' removes it. */
  setPosition(symbol: string, qty: string, avgEntryPrice: string): void {
    this.exchange.setPosition(symbol, qty, avgEntryPrice);
  }

  /** An order on the account that the gateway never sent (no POST counted, no stream event). */
  plantOrder(f: {
    symbol: string;
    side: 'buy' | 'sell';
    qty: string;
    clientOrderId?: string;
    limitPrice?: string;
  }): WireOrder {
    return this.exchange.plantOrder(f);
  }

  /** While on, executions still happen (order, position, FILL activity) but their fill/partial_fill updates are not streamed. */
  dropStreamFills(on: boolean): void {
    this.stream.dropFills(on);
  }

  /** The trade updates of these orders (by broker id) are not streamed, though they change; [] streams all again. */
  dropStreamEventsOf(orderIds: readonly string[]): void {
    this.stream.dropOrders(orderIds);
  }

  /** While on, every HTTP request's connection is reset unanswered (the broker cannot be reached). */
  setUnreachable(on: boolean): void {
    this.unreachable = on;
  }

  // --- faults ---------------------------------------------------------------------

  /** Alpaca's rate limit: at most `perWindow` trading requests in any sliding window, else 429 (null: off). */
  setRateLimit(perWindow: number | null, windowMs = 60_000): void {
    this.rateLimit.set(perWindow, windowMs);
  }

  /** The next `n` requests on `route` answer `status` (429 with Retry-After when given). */
  failNext(route: FaultRoute, n: number, opts: FailOptions): void {
    this.plan.failNext(route, n, opts);
  }

  /** The next `n` order submissions are refused: 403 {"code":40310000,"message":"insufficient buying power"}. */
  rejectNext(n = 1, route: FaultRoute = 'POST /v2/orders'): void {
    this.plan.rejectNext(n, route);
  }

  /** The next `n` requests are processed (the order is stored), then the socket is destroyed unanswered. */
  dropResponseAfterAccept(n = 1, route: FaultRoute = 'POST /v2/orders'): void {
    this.plan.dropResponseAfterAccept(n, route);
  }

  /** Delays answers by `ms` (0 clears every delay). */
  delayResponse(ms: number, opts: DelayOptions = {}): void {
    this.plan.delayResponse(ms, opts);
  }

  // --- stream control -----------------------------------------------------------------

  setFrameMode(frames: 'text' | 'binary'): void {
    this.stream.setFrameMode(frames);
  }

  /** Sends the last `n` trade updates again (same execution ids) to every listener. */
  replayLastEvents(n: number): void {
    this.stream.replayLastEvents(n);
  }

  /** Open sockets stay open but get nothing more: no frames, no pongs. */
  silenceStream(opts: { includeNewConnections?: boolean } = {}): void {
    this.stream.silence(opts);
  }

  unsilenceStream(): void {
    this.stream.unsilence();
  }

  /** Kills every stream socket without a close handshake. */
  dropStreamConnections(): void {
    this.stream.dropConnections();
  }

  /** Broadcasts a raw trade update `data` (recorded for replay like any other). */
  emitEvent(data: WireTradeUpdate | Record<string, unknown>): void {
    this.stream.broadcast(data as WireTradeUpdate);
  }

  /** Sends any frame (object → JSON, string as-is) to every connected socket, listening or not. */
  emitFrame(frame: unknown): void {
    this.stream.emitFrame(frame);
  }

  // --- inspection ------------------------------------------------------------------------

  /** POST /v2/orders received (every one, faulted or not), optionally for one client_order_id. */
  postOrderCount(clientOrderId?: string): number {
    return clientOrderId === undefined ? this.postOrders : (this.postsByClientOrderId.get(clientOrderId) ?? 0);
  }

  orders(): WireOrder[] {
    return this.exchange.allOrders();
  }

  order(id: string): WireOrder | undefined {
    return this.exchange.order(id);
  }

  orderByClientOrderId(clientOrderId: string): WireOrder | undefined {
    return this.exchange.orderByClientOrderId(clientOrderId);
  }

  positions(): WirePosition[] {
    return this.exchange.positions();
  }

  activities(): WireFillActivity[] {
    return this.exchange.activities();
  }

  account(): WireAccount {
    return this.exchange.account();
  }

  requests(route?: FakeRoute): RecordedRequest[] {
    return this.log.filter((r) => route === undefined || r.route === route);
  }

  events(): WireTradeUpdate[] {
    return this.stream.events();
  }

  streamStats(): StreamStats {
    return this.stream.streamStats();
  }

  /** Handler exceptions (answered 500); a healthy test expects none. */
  internalErrors(): unknown[] {
    return [...this.errors];
  }

  /** Resolves once every scheduled event (accept, fills, cancels) has run. */
  whenIdle(): Promise<void> {
    return this.timers.whenIdle();
  }

  // --- HTTP ----------------------------------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.unreachable) {
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const method = (req.method ?? 'GET').toUpperCase();
    const raw = await readBody(req);
    let body: unknown = undefined;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        this.write(res, { status: 400, body: { code: 40010000, message: 'request body format is invalid' } });
        return;
      }
    }
    if (this.marketData.handles(url.pathname)) {
      const answer = await this.marketData.respond(method, url, req.headers);
      if (answer === 'drop') req.socket.destroy();
      else this.write(res, answer);
      return;
    }
    const matched = matchRoute(method, url.pathname);
    const keyId = req.headers['apca-api-key-id'];
    this.log.push({
      seq: ++this.requestSeq,
      method,
      path: url.pathname,
      route: matched?.route ?? null,
      query: Object.fromEntries(url.searchParams),
      body,
      keyId: typeof keyId === 'string' ? keyId : undefined,
      at: this.clock(),
    });
    if (matched?.route === 'POST /v2/orders') {
      this.postOrders += 1;
      const cid = (body as { client_order_id?: unknown } | undefined)?.client_order_id;
      if (typeof cid === 'string') this.postsByClientOrderId.set(cid, (this.postsByClientOrderId.get(cid) ?? 0) + 1);
    }
    if (!matched) {
      this.write(res, { status: 404, body: { message: 'Not Found' } });
      return;
    }
    const delay = this.plan.takeDelay(matched.route);
    if (delay?.before) await this.timers.sleep(delay.ms);

    if (req.headers['apca-api-key-id'] !== this.keyId || req.headers['apca-api-secret-key'] !== this.secretKey) {
      this.write(res, { status: 401, body: ERR_UNAUTHORIZED });
      return;
    }

    const limited = this.rateLimit.take(Date.now());
    if (limited) {
      this.write(res, limited);
      return;
    }
    const fault = this.plan.takeFault(matched.route);
    let answer: WireResponse;
    if (fault?.kind === 'reject') {
      answer = { status: 403, body: ERR_INSUFFICIENT_BUYING_POWER };
    } else if (fault?.kind === 'fail' && !fault.opts.afterAccept) {
      answer = failure(fault.opts);
    } else {
      answer = this.handle(matched.route, matched.params, url.searchParams, body);
      if (fault?.kind === 'fail') answer = failure(fault.opts);
    }
    if (delay && !delay.before) await this.timers.sleep(delay.ms);
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    this.write(res, answer);
  }

  private handle(route: FakeRoute, params: string[], query: URLSearchParams, body: unknown): WireResponse {
    try {
      return handleTrading(this.exchange, route, params, query, body);
    } catch (err) {
      this.errors.push(err);
      return { status: 500, body: { code: 50010000, message: String(err) } };
    }
  }

  private write(res: ServerResponse, answer: WireResponse): void {
    writeAnswer(res, answer, `fake-req-${this.requestSeq}`);
  }
}
