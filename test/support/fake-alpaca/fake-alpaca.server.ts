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
 * Reconciliation scenarios: setPosition(), plantOrder() (an order the gateway never sent),
 * dropStreamFills() (fills reach activities but not the stream), setUnreachable() (every request reset).
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
import type { AddressInfo, Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { FakeExchange, type FillBehaviour, type FillResult } from './fake-alpaca.exchange';
import { FakeMarketData } from './fake-alpaca.market-data';
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
import { takeCounted } from './take-counted';

export type { FillBehaviour, FillResult } from './fake-alpaca.exchange';
export type * from './fake-alpaca.wire';

export type FakeRoute =
  | 'POST /v2/orders'
  | 'GET /v2/orders'
  | 'DELETE /v2/orders'
  | 'GET /v2/orders:by_client_order_id'
  | 'GET /v2/orders/:id'
  | 'PATCH /v2/orders/:id'
  | 'DELETE /v2/orders/:id'
  | 'GET /v2/positions'
  | 'GET /v2/positions/:symbol'
  | 'DELETE /v2/positions/:symbol'
  | 'GET /v2/account'
  | 'GET /v2/account/activities'
  | 'GET /v2/account/activities/:type';

/** A fault applies to one route, or to every route with '*'. */
export type FaultRoute = FakeRoute | '*';

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

export interface FailOptions {
  status: number;
  retryAfterSeconds?: number;
  /** Process the request (e.g. store the order) and then answer with the failure. Default false. */
  afterAccept?: boolean;
  body?: unknown;
}

export interface DelayOptions {
  route?: FaultRoute;
  /** How many requests to delay; default: every one until delayResponse(0). */
  count?: number;
  /** Delay before processing instead of after (default after: the broker acts, the answer is late). */
  before?: boolean;
}

export interface StreamStats {
  connections: number;
  openConnections: number;
  authAttempts: number;
  authorized: number;
  listens: number;
}

type Fault =
  | { kind: 'fail'; route: FaultRoute; remaining: number; opts: FailOptions }
  | { kind: 'reject'; route: FaultRoute; remaining: number }
  | { kind: 'drop'; route: FaultRoute; remaining: number };

interface Delay {
  route: FaultRoute;
  ms: number;
  remaining: number;
  before: boolean;
}

interface StreamClient {
  ws: WebSocket;
  authenticated: boolean;
  streams: Set<string>;
  silenced: boolean;
}

const ROUTES: Array<{ method: string; pattern: RegExp; route: FakeRoute }> = [
  { method: 'POST', pattern: /^\/v2\/orders$/, route: 'POST /v2/orders' },
  { method: 'GET', pattern: /^\/v2\/orders$/, route: 'GET /v2/orders' },
  { method: 'DELETE', pattern: /^\/v2\/orders$/, route: 'DELETE /v2/orders' },
  { method: 'GET', pattern: /^\/v2\/orders:by_client_order_id$/, route: 'GET /v2/orders:by_client_order_id' },
  { method: 'GET', pattern: /^\/v2\/orders\/([^/]+)$/, route: 'GET /v2/orders/:id' },
  { method: 'PATCH', pattern: /^\/v2\/orders\/([^/]+)$/, route: 'PATCH /v2/orders/:id' },
  { method: 'DELETE', pattern: /^\/v2\/orders\/([^/]+)$/, route: 'DELETE /v2/orders/:id' },
  { method: 'GET', pattern: /^\/v2\/positions$/, route: 'GET /v2/positions' },
  { method: 'GET', pattern: /^\/v2\/positions\/([^/]+)$/, route: 'GET /v2/positions/:symbol' },
  { method: 'DELETE', pattern: /^\/v2\/positions\/([^/]+)$/, route: 'DELETE /v2/positions/:symbol' },
  { method: 'GET', pattern: /^\/v2\/account$/, route: 'GET /v2/account' },
  { method: 'GET', pattern: /^\/v2\/account\/activities$/, route: 'GET /v2/account/activities' },
  { method: 'GET', pattern: /^\/v2\/account\/activities\/([^/]+)$/, route: 'GET /v2/account/activities/:type' },
];

export class FakeAlpacaServer {
  readonly keyId: string;
  readonly secretKey: string;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly exchange: FakeExchange;
  /** Market data endpoints (/v2/stocks/...) and their controls: fake-alpaca.market-data.ts. */
  readonly marketData: FakeMarketData;
  private readonly clients = new Set<StreamClient>();
  /** Scheduled exchange work (cleared by reset) and response delays (cleared only by stop). */
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sleepTimers = new Set<NodeJS.Timeout>();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly history: WireTradeUpdate[] = [];
  private readonly log: RecordedRequest[] = [];
  private readonly postsByClientOrderId = new Map<string, number>();
  private readonly faults: Fault[] = [];
  private readonly delays: Delay[] = [];
  private readonly errors: unknown[] = [];
  private clock: () => Date;
  private frames: 'text' | 'binary';
  private readonly initialFrames: 'text' | 'binary';
  private silenceNewConnections = false;
  private droppingStreamFills = false;
  private unreachable = false;
  private pending = 0;
  private postOrders = 0;
  private requestSeq = 0;
  private stats: StreamStats = { connections: 0, openConnections: 0, authAttempts: 0, authorized: 0, listens: 0 };
  private port = 0;

  constructor(options: FakeAlpacaOptions = {}) {
    this.keyId = options.keyId ?? 'fake-key-id';
    this.secretKey = options.secretKey ?? 'fake-secret-key';
    this.frames = options.frames ?? 'text';
    this.initialFrames = this.frames;
    this.clock = options.clock ?? (() => new Date());
    this.exchange = new FakeExchange(
      {
        now: () => this.clock(),
        emit: (u) => this.broadcast(u),
        schedule: (fn, ms) => this.schedule(fn, ms),
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
    this.wss = new WebSocketServer({ noServer: true, autoPong: false, perMessageDeflate: false });
    this.http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/stream') {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onStreamConnection(ws));
    });
  }

  // --- lifecycle ---------------------------------------------------------------

  async start(): Promise<this> {
    this.http.listen(0, '127.0.0.1');
    await once(this.http, 'listening');
    this.port = (this.http.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const t of [...this.timers, ...this.sleepTimers]) clearTimeout(t);
    this.timers.clear();
    this.sleepTimers.clear();
    for (const c of this.clients) c.ws.terminate();
    this.clients.clear();
    this.wss.close();
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
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.pending = 0;
    this.flushIdleWaiters();
    this.exchange.reset();
    this.marketData.reset();
    this.history.length = 0;
    this.log.length = 0;
    this.postsByClientOrderId.clear();
    this.faults.length = 0;
    this.delays.length = 0;
    this.errors.length = 0;
    this.postOrders = 0;
    this.silenceNewConnections = false;
    this.droppingStreamFills = false;
    this.unreachable = false;
    this.frames = this.initialFrames;
    this.stats = { connections: 0, openConnections: 0, authAttempts: 0, authorized: 0, listens: 0 };
    for (const c of this.clients) c.silenced = false;
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
    this.droppingStreamFills = on;
  }

  /** While on, every HTTP request's connection is reset unanswered (the broker cannot be reached). */
  setUnreachable(on: boolean): void {
    this.unreachable = on;
  }

  // --- faults ---------------------------------------------------------------------

  /** The next `n` requests on `route` answer `status` (429 with Retry-After when given). */
  failNext(route: FaultRoute, n: number, opts: FailOptions): void {
    this.faults.push({ kind: 'fail', route, remaining: n, opts });
  }

  /** The next `n` order submissions are refused: 403 {"code":40310000,"message":"insufficient buying power"}. */
  rejectNext(n = 1, route: FaultRoute = 'POST /v2/orders'): void {
    this.faults.push({ kind: 'reject', route, remaining: n });
  }

  /** The next `n` requests are processed (the order is stored), then the socket is destroyed unanswered. */
  dropResponseAfterAccept(n = 1, route: FaultRoute = 'POST /v2/orders'): void {
    this.faults.push({ kind: 'drop', route, remaining: n });
  }

  /** Delays answers by `ms` (0 clears every delay). */
  delayResponse(ms: number, opts: DelayOptions = {}): void {
    if (ms <= 0) {
      this.delays.length = 0;
      return;
    }
    this.delays.push({
      route: opts.route ?? '*',
      ms,
      remaining: opts.count ?? Number.POSITIVE_INFINITY,
      before: opts.before ?? false,
    });
  }

  // --- stream control -----------------------------------------------------------------

  setFrameMode(frames: 'text' | 'binary'): void {
    this.frames = frames;
  }

  /** Sends the last `n` trade updates again (same execution ids) to every listener. */
  replayLastEvents(n: number): void {
    for (const u of this.history.slice(-n)) this.sendUpdate(u);
  }

  /** Open sockets stay open but get nothing more: no frames, no pongs. */
  silenceStream(opts: { includeNewConnections?: boolean } = {}): void {
    for (const c of this.clients) c.silenced = true;
    this.silenceNewConnections = opts.includeNewConnections ?? false;
  }

  unsilenceStream(): void {
    for (const c of this.clients) c.silenced = false;
    this.silenceNewConnections = false;
  }

  /** Kills every stream socket without a close handshake. */
  dropStreamConnections(): void {
    for (const c of this.clients) c.ws.terminate();
  }

  /** Broadcasts a raw trade update `data` (recorded for replay like any other). */
  emitEvent(data: WireTradeUpdate | Record<string, unknown>): void {
    this.broadcast(data as WireTradeUpdate);
  }

  /** Sends any frame (object → JSON, string as-is) to every connected socket, listening or not. */
  emitFrame(frame: unknown): void {
    for (const c of this.clients) this.send(c, frame);
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
    return structuredClone(this.history);
  }

  streamStats(): StreamStats {
    return { ...this.stats, openConnections: this.clients.size };
  }

  /** Handler exceptions (answered 500); a healthy test expects none. */
  internalErrors(): unknown[] {
    return [...this.errors];
  }

  /** Resolves once every scheduled event (accept, fills, cancels) has run. */
  whenIdle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  // --- HTTP ----------------------------------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.unreachable) {
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const method = (req.method ?? 'GET').toUpperCase();
    const raw = await this.readBody(req);
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
    const matched = this.match(method, url.pathname);
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
    const delay = takeCounted(this.delays, matched.route);
    if (delay?.before) await this.sleep(delay.ms);

    if (req.headers['apca-api-key-id'] !== this.keyId || req.headers['apca-api-secret-key'] !== this.secretKey) {
      this.write(res, { status: 401, body: ERR_UNAUTHORIZED });
      return;
    }

    const fault = takeCounted(this.faults, matched.route);
    let answer: WireResponse;
    if (fault?.kind === 'reject') {
      answer = { status: 403, body: ERR_INSUFFICIENT_BUYING_POWER };
    } else if (fault?.kind === 'fail' && !fault.opts.afterAccept) {
      answer = this.failure(fault.opts);
    } else {
      answer = this.handle(matched.route, matched.params, url.searchParams, body);
      if (fault?.kind === 'fail') answer = this.failure(fault.opts);
    }
    if (delay && !delay.before) await this.sleep(delay.ms);
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    this.write(res, answer);
  }

  private handle(route: FakeRoute, params: string[], query: URLSearchParams, body: unknown): WireResponse {
    const x = this.exchange;
    try {
      switch (route) {
        case 'POST /v2/orders':
          return x.submit(body);
        case 'GET /v2/orders':
          return x.list(query);
        case 'DELETE /v2/orders':
          return x.cancelAll();
        case 'GET /v2/orders:by_client_order_id':
          return x.getByClientOrderId(query);
        case 'GET /v2/orders/:id':
          return x.get(params[0]);
        case 'PATCH /v2/orders/:id':
          return x.replace(params[0], body);
        case 'DELETE /v2/orders/:id':
          return x.cancel(params[0]);
        case 'GET /v2/positions':
          return x.listPositions();
        case 'GET /v2/positions/:symbol': {
          const p = x.positions().find((pos) => pos.symbol === params[0]);
          return p
            ? { status: 200, body: p }
            : { status: 404, body: { code: 40410000, message: 'position does not exist' } };
        }
        case 'DELETE /v2/positions/:symbol':
          return x.closePosition(params[0], query);
        case 'GET /v2/account':
          return { status: 200, body: x.account() };
        case 'GET /v2/account/activities':
          return x.listActivities(query);
        case 'GET /v2/account/activities/:type':
          return x.listActivities(query, params[0]);
      }
    } catch (err) {
      this.errors.push(err);
      return { status: 500, body: { code: 50010000, message: String(err) } };
    }
  }

  private failure(opts: FailOptions): WireResponse {
    const headers: Record<string, string> = {};
    if (opts.retryAfterSeconds !== undefined) headers['Retry-After'] = String(opts.retryAfterSeconds);
    const body =
      opts.body ??
      (opts.status === 429
        ? { code: 42910000, message: 'rate limit exceeded' }
        : { code: opts.status * 100000 + 10000, message: `fake failure ${opts.status}` });
    return { status: opts.status, body, headers };
  }

  private match(method: string, path: string): { route: FakeRoute; params: string[] } | undefined {
    for (const r of ROUTES) {
      if (r.method !== method) continue;
      const m = r.pattern.exec(path);
      if (m) return { route: r.route, params: m.slice(1).map((p) => decodeURIComponent(p)) };
    }
    return undefined;
  }

  private write(res: ServerResponse, answer: WireResponse): void {
    if (res.destroyed || res.writableEnded) return;
    const headers: Record<string, string> = { 'X-Request-ID': `fake-req-${this.requestSeq}`, ...answer.headers };
    if (answer.body === undefined) {
      res.writeHead(answer.status, headers).end();
      return;
    }
    const text = JSON.stringify(answer.body);
    res
      .writeHead(answer.status, {
        ...headers,
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': String(Buffer.byteLength(text)),
      })
      .end(text);
  }

  private async readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.sleepTimers.delete(t);
        resolve();
      }, ms);
      this.sleepTimers.add(t);
    });
  }

  private schedule(fn: () => void, delayMs: number): void {
    this.pending += 1;
    const t = setTimeout(() => {
      this.timers.delete(t);
      try {
        fn();
      } catch (err) {
        this.errors.push(err);
      } finally {
        this.pending -= 1;
        if (this.pending === 0) this.flushIdleWaiters();
      }
    }, delayMs);
    this.timers.add(t);
  }

  private flushIdleWaiters(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  // --- stream ------------------------------------------------------------------------------

  private onStreamConnection(ws: WebSocket): void {
    const client: StreamClient = {
      ws,
      authenticated: false,
      streams: new Set(),
      silenced: this.silenceNewConnections,
    };
    this.clients.add(client);
    this.stats.connections += 1;
    ws.on('ping', (data: Buffer) => {
      if (!client.silenced) ws.pong(data);
    });
    ws.on('close', () => this.clients.delete(client));
    ws.on('error', () => this.clients.delete(client));
    ws.on('message', (data: WebSocket.RawData) => this.onStreamMessage(client, data));
  }

  private onStreamMessage(client: StreamClient, data: WebSocket.RawData): void {
    let msg: { action?: unknown; data?: Record<string, unknown> };
    try {
      const text = (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Uint8Array)).toString('utf8');
      msg = JSON.parse(text) as typeof msg;
    } catch {
      this.send(client, { action: 'error', data: { error_message: 'invalid syntax' } });
      return;
    }
    if (client.silenced) return;
    if (msg.action === 'authenticate') {
      this.stats.authAttempts += 1;
      const ok = msg.data?.key_id === this.keyId && msg.data?.secret_key === this.secretKey;
      client.authenticated = ok;
      if (ok) this.stats.authorized += 1;
      this.send(client, {
        stream: 'authorization',
        data: { status: ok ? 'authorized' : 'unauthorized', action: 'authenticate' },
      });
      return;
    }
    if (msg.action === 'listen') {
      if (!client.authenticated) {
        this.send(client, { stream: 'authorization', data: { status: 'unauthorized', action: 'listen' } });
        return;
      }
      const streams = Array.isArray(msg.data?.streams) ? (msg.data.streams as unknown[]) : [];
      client.streams = new Set(streams.filter((s): s is string => typeof s === 'string'));
      this.stats.listens += 1;
      this.send(client, { stream: 'listening', data: { streams: [...client.streams] } });
      return;
    }
    this.send(client, { action: 'error', data: { error_message: `unknown action: ${String(msg.action)}` } });
  }

  private broadcast(update: WireTradeUpdate): void {
    if (this.droppingStreamFills && (update.event === 'fill' || update.event === 'partial_fill')) return;
    this.history.push(structuredClone(update));
    this.sendUpdate(update);
  }

  private sendUpdate(update: WireTradeUpdate): void {
    for (const c of this.clients) {
      if (c.authenticated && c.streams.has('trade_updates')) this.send(c, { stream: 'trade_updates', data: update });
    }
  }

  private send(client: StreamClient, frame: unknown): void {
    if (client.silenced || client.ws.readyState !== WebSocket.OPEN) return;
    const text = typeof frame === 'string' ? frame : JSON.stringify(frame);
    if (this.frames === 'binary') client.ws.send(Buffer.from(text, 'utf8'), { binary: true });
    else client.ws.send(text);
  }
}
