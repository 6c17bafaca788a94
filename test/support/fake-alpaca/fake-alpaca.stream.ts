/**
 * The fake Alpaca's trade_updates stream at /stream: authenticate →
 * authorization, listen → listening, then
 * {"stream":"trade_updates","data":{event, execution_id, order, timestamp, price, qty, position_qty}},
 * as text or binary frames. Keeps every update it broadcast, for replay and
 * inspection, and the faults a stream can have (silent sockets, dropped
 * connections, fills that never reach the stream).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import type { WireTradeUpdate } from './fake-alpaca.wire';

export interface StreamStats {
  connections: number;
  openConnections: number;
  authAttempts: number;
  authorized: number;
  listens: number;
}

export interface TradeStreamOptions {
  keyId: string;
  secretKey: string;
  frames: 'text' | 'binary';
}

interface StreamClient {
  ws: WebSocket;
  authenticated: boolean;
  streams: Set<string>;
  silenced: boolean;
}

const NO_STATS: StreamStats = { connections: 0, openConnections: 0, authAttempts: 0, authorized: 0, listens: 0 };

export class FakeTradeStream {
  private readonly wss = new WebSocketServer({ noServer: true, autoPong: false, perMessageDeflate: false });
  private readonly clients = new Set<StreamClient>();
  private readonly history: WireTradeUpdate[] = [];
  private readonly initialFrames: 'text' | 'binary';
  private frames: 'text' | 'binary';
  private silenceNewConnections = false;
  private droppingFills = false;
  private droppedOrders = new Set<string>();
  private stats: StreamStats = { ...NO_STATS };

  constructor(private readonly options: TradeStreamOptions) {
    this.frames = options.frames;
    this.initialFrames = options.frames;
  }

  /** Serves the stream on `http`'s /stream; any other upgrade is refused. */
  attach(http: Server): void {
    http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/stream') {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
    });
  }

  /** Kills every socket and stops accepting new ones. */
  close(): void {
    for (const c of this.clients) c.ws.terminate();
    this.clients.clear();
    this.wss.close();
  }

  /** Forgets history, faults and counters; open sockets stay open (and are heard again). */
  reset(): void {
    this.history.length = 0;
    this.silenceNewConnections = false;
    this.droppingFills = false;
    this.droppedOrders.clear();
    this.frames = this.initialFrames;
    this.stats = { ...NO_STATS };
    for (const c of this.clients) c.silenced = false;
  }

  // --- control -----------------------------------------------------------------

  setFrameMode(frames: 'text' | 'binary'): void {
    this.frames = frames;
  }

  /** While on, fill and partial_fill updates are neither streamed nor recorded. */
  dropFills(on: boolean): void {
    this.droppingFills = on;
  }

  /** The updates of these orders (by id) are neither streamed nor recorded; an empty list streams all again. */
  dropOrders(ids: readonly string[]): void {
    this.droppedOrders = new Set(ids);
  }

  /** Sends the last `n` trade updates again (same execution ids) to every listener. */
  replayLastEvents(n: number): void {
    for (const u of this.history.slice(-n)) this.sendUpdate(u);
  }

  /** Open sockets stay open but get nothing more: no frames, no pongs. */
  silence(opts: { includeNewConnections?: boolean } = {}): void {
    for (const c of this.clients) c.silenced = true;
    this.silenceNewConnections = opts.includeNewConnections ?? false;
  }

  unsilence(): void {
    for (const c of this.clients) c.silenced = false;
    this.silenceNewConnections = false;
  }

  /** Kills every socket without a close handshake. */
  dropConnections(): void {
    for (const c of this.clients) c.ws.terminate();
  }

  /** Sends any frame (object → JSON, string as-is) to every connected socket, listening or not. */
  emitFrame(frame: unknown): void {
    for (const c of this.clients) this.send(c, frame);
  }

  /** Records a trade update and sends it to every socket listening to trade_updates. */
  broadcast(update: WireTradeUpdate): void {
    if (this.droppingFills && (update.event === 'fill' || update.event === 'partial_fill')) return;
    if (this.droppedOrders.has(update.order?.id)) return;
    this.history.push(structuredClone(update));
    this.sendUpdate(update);
  }

  // --- inspection ----------------------------------------------------------------

  events(): WireTradeUpdate[] {
    return structuredClone(this.history);
  }

  streamStats(): StreamStats {
    return { ...this.stats, openConnections: this.clients.size };
  }

  // --- protocol --------------------------------------------------------------------

  private onConnection(ws: WebSocket): void {
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
    ws.on('message', (data: WebSocket.RawData) => this.onMessage(client, data));
  }

  private onMessage(client: StreamClient, data: WebSocket.RawData): void {
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
      const ok = msg.data?.key_id === this.options.keyId && msg.data?.secret_key === this.options.secretKey;
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
