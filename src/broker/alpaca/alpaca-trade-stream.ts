/**
 * The trade_updates stream, supervised: the SDK's TradingStream does the
 * protocol (authenticate, listen, re-listen after reconnect, backoff); this
 * class adds what an OMS needs on top of it.
 *
 * Invariants:
 * - reconnects forever, with capped exponential backoff (the SDK's, attempts unlimited);
 * - a socket that brings nothing in — no frame, no pong — for `watchdogMs`, or
 *   that has not reached `listening` within `handshakeTimeoutMs` of opening, is
 *   terminated, which the SDK treats as a lost connection and reconnects;
 * - `onConnected(reconnect)` runs after every confirmed subscription (the
 *   `listening` answer, which follows authentication), so anything after it is
 *   streamed and anything before it can be re-read over REST;
 * - updates reach `onUpdate` in arrival order, one at a time; replayed or
 *   duplicated events are delivered as they come: deduplication (execution_id,
 *   cumulative filled_qty) is the OMS's job, not the adapter's;
 * - refused credentials stop the stream for good (the SDK will not retry them):
 *   state `disconnected`, an error log, and `start()` rejects with a BrokerError of kind `auth`.
 */
import { performance } from 'node:perf_hooks';
import { streaming } from '@alpacahq/alpaca-trade-api';
import WebSocket from 'ws';
import { Scheduler, SystemScheduler, TaskHandle } from '../../infra/clock/scheduler';
import { BrokerError, type BrokerStreamHandlers, type StreamState } from '../broker-client.port';
import type { AlpacaLogger } from './alpaca-logger';
import { toOrderUpdate } from './alpaca-parse';

export interface AlpacaStreamTuning {
  /** A socket silent (no frame, no pong) this long is dead. Default 30 000. */
  watchdogMs: number;
  /** Keepalive ping period; must be well under watchdogMs. Default watchdogMs / 3. */
  pingIntervalMs?: number;
  /** Socket open → `listening` must take less than this; also the HTTP upgrade timeout. Default 10 000. */
  handshakeTimeoutMs: number;
  /** First reconnect delay, doubling per failed attempt. Default 500. */
  initialReconnectMs: number;
  /** Reconnect delay cap. Default 30 000. */
  maxReconnectMs: number;
  /** ± fraction of jitter on each reconnect delay. Default 0.2. */
  reconnectJitter: number;
}

export const DEFAULT_STREAM_TUNING: AlpacaStreamTuning = {
  watchdogMs: 30_000,
  handshakeTimeoutMs: 10_000,
  initialReconnectMs: 500,
  maxReconnectMs: 30_000,
  reconnectJitter: 0.2,
};

export interface AlpacaTradeStreamOptions {
  keyId: string;
  secretKey: string;
  url: string;
  logger: AlpacaLogger;
  tuning: AlpacaStreamTuning;
  /** Runs the liveness watchdog. Default: the system's timers. */
  scheduler?: Scheduler;
}

type Settle = { resolve: () => void; reject: (err: Error) => void };

export class AlpacaTradeStream {
  private sdk?: streaming.TradingStream;
  private socket?: WebSocket;
  private handlers?: BrokerStreamHandlers;
  private current: StreamState = 'disconnected';
  private openedAt = 0;
  private lastInboundAt = 0;
  private listening = false;
  private everConnected = false;
  private authRefused = false;
  private stopped = false;
  private watchdog?: TaskHandle;
  private delivery: Promise<void> = Promise.resolve();
  private firstOutcome?: Settle;

  constructor(private readonly opts: AlpacaTradeStreamOptions) {}

  state(): StreamState {
    return this.current;
  }

  /**
   * Opens the stream. Resolves once subscribed, or after a first attempt that
   * failed for a transport reason (reconnection then continues in the
   * background: watch onStateChange); rejects with BrokerError('auth') when the
   * credentials are refused.
   */
  start(handlers: BrokerStreamHandlers): Promise<void> {
    if (this.sdk) throw new Error('AlpacaTradeStream.start called twice');
    this.handlers = handlers;
    const t = this.opts.tuning;
    const pingIntervalMs = t.pingIntervalMs ?? Math.max(50, Math.floor(t.watchdogMs / 3));
    // Pongs are what keep a quiet (no orders) stream alive in the watchdog's eyes.
    if (pingIntervalMs * 2 > t.watchdogMs) throw new Error('pingIntervalMs must be at most half of watchdogMs');
    const sdk = new streaming.TradingStream({
      credentials: { keyId: this.opts.keyId, secret: this.opts.secretKey },
      url: this.opts.url,
      reconnect: true,
      maxReconnectAttempts: streaming.UNLIMITED_RECONNECT_ATTEMPTS,
      backoff: true,
      initialReconnectMs: t.initialReconnectMs,
      maxReconnectMs: t.maxReconnectMs,
      reconnectJitter: t.reconnectJitter,
      pingIntervalMs,
      // The SDK clears its pong timer on every ping, so a pong wait longer than
      // the ping period never fires: the watchdog below is the one judge of silence.
      pongWaitMs: t.watchdogMs * 2,
      wsFactory: (url) => this.openSocket(url),
    });
    this.sdk = sdk;
    sdk.onStateChange((s: streaming.STATE) => this.onSdkState(s));
    sdk.on(streaming.EVENT.SUBSCRIPTION, (streams: unknown) => this.onListening(streams));
    sdk.onTradeUpdate((u: streaming.TradeUpdate) => this.onTradeUpdate(u));
    sdk.onError((message: string) => this.onSdkError(message));
    sdk.subscribeTradeUpdates();

    const first = new Promise<void>((resolve, reject) => (this.firstOutcome = { resolve, reject }));
    const tick = Math.max(25, Math.min(1000, Math.floor(Math.min(t.watchdogMs, t.handshakeTimeoutMs) / 4)));
    this.watchdog = (this.opts.scheduler ?? new SystemScheduler()).every(tick, () => this.checkLiveness(), {
      name: 'alpaca stream watchdog',
    });
    this.setState('connecting', 'starting');
    sdk.connect();
    return first;
  }

  /** Closes the socket, stops reconnecting, and waits for updates already being delivered. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watchdog?.cancel();
    this.watchdog = undefined;
    const sdk = this.sdk;
    if (sdk) {
      sdk.disconnect();
      sdk.removeAllListeners();
    }
    this.socket = undefined;
    this.listening = false;
    this.settleFirst();
    this.setState('disconnected', 'stopped');
    await this.delivery;
  }

  // --- socket and liveness ----------------------------------------------------------

  /** Our own `ws` socket, handed to the SDK, so inbound frames and pongs can be watched. */
  private openSocket(url: string): streaming.WebSocketLike {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: this.opts.tuning.handshakeTimeoutMs });
    this.socket = ws;
    this.listening = false;
    this.openedAt = performance.now();
    this.lastInboundAt = this.openedAt;
    const seen = (): void => {
      if (this.socket === ws) this.lastInboundAt = performance.now();
    };
    ws.on('open', seen);
    ws.on('pong', seen);
    ws.on('message', (data: WebSocket.RawData) => {
      seen();
      if (this.socket === ws) this.sniffAuthorization(data);
    });
    return ws as unknown as streaming.WebSocketLike;
  }

  private checkLiveness(): void {
    const ws = this.socket;
    if (!ws || this.stopped || ws.readyState !== WebSocket.OPEN) return;
    const now = performance.now();
    const silentMs = Math.round(now - this.lastInboundAt);
    if (silentMs > this.opts.tuning.watchdogMs) {
      this.opts.logger.warn('alpaca stream silent; dropping the socket to reconnect', { silentMs });
      ws.terminate();
    } else if (!this.listening && now - this.openedAt > this.opts.tuning.handshakeTimeoutMs) {
      this.opts.logger.warn('alpaca stream handshake did not complete; dropping the socket to reconnect', {
        elapsedMs: Math.round(now - this.openedAt),
      });
      ws.terminate();
    }
  }

  /**
   * Notices a refused `authorization` before the SDK reacts to it. The SDK
   * reports the refusal only as the error text "auth failed" and then closes
   * for good; reading the frame makes the cause unambiguous.
   */
  private sniffAuthorization(data: WebSocket.RawData): void {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Uint8Array);
    const text = bytes.toString('utf8');
    if (!text.includes('"authorization"')) return;
    try {
      const frame = JSON.parse(text) as { stream?: unknown; data?: { status?: unknown; action?: unknown } };
      if (frame.stream === 'authorization' && frame.data?.status !== 'authorized') {
        this.authRefused = true;
        this.opts.logger.error(
          'alpaca stream refused the credentials; not reconnecting (check the key id and secret)',
          {
            status: frame.data?.status,
            action: frame.data?.action,
          },
        );
      }
    } catch {
      // Not JSON: the SDK reports its own decode error.
    }
  }

  // --- SDK events ------------------------------------------------------------------------

  private onSdkState(s: streaming.STATE): void {
    if (this.stopped) return;
    switch (s) {
      case streaming.STATE.CONNECTING:
      case streaming.STATE.WAITING_TO_RECONNECT:
        this.setState('connecting', s === streaming.STATE.WAITING_TO_RECONNECT ? 'reconnect scheduled' : 'connecting');
        break;
      case streaming.STATE.DISCONNECTED:
        this.socket = undefined;
        this.listening = false;
        if (this.authRefused) {
          this.watchdog?.cancel();
          this.watchdog = undefined;
          this.setState('disconnected', 'auth refused');
          this.settleFirst(new BrokerError('auth', 'Alpaca stream refused the credentials'));
        } else {
          this.setState('disconnected', 'connection lost');
          if (this.firstOutcome && !this.everConnected) {
            this.opts.logger.warn('alpaca stream: first connection failed; reconnecting in the background');
            this.settleFirst();
          }
        }
        break;
      default:
        // CONNECTED and AUTHENTICATED: still waiting for `listening`.
        break;
    }
  }

  private onListening(streams: unknown): void {
    if (this.stopped) return;
    if (!Array.isArray(streams) || !streams.includes('trade_updates')) {
      this.opts.logger.warn('alpaca stream: listening without trade_updates', { streams });
      return;
    }
    this.listening = true;
    const reconnect = this.everConnected;
    this.everConnected = true;
    this.setState('connected', reconnect ? 'reconnected' : 'connected');
    this.opts.logger.info('alpaca stream subscribed to trade_updates', { reconnect });
    this.settleFirst();
    // Not awaited and not queued behind updates: a REST re-sync must not hold back live fills
    // (applying an update is idempotent, so the two may interleave).
    void Promise.resolve()
      .then(() => this.handlers?.onConnected(reconnect))
      .catch((err: unknown) => this.opts.logger.error('alpaca stream: onConnected failed', { error: String(err) }));
  }

  private onTradeUpdate(u: streaming.TradeUpdate): void {
    if (this.stopped || !this.handlers) return;
    let update;
    try {
      update = toOrderUpdate(u);
    } catch (err) {
      const order = u.order as Record<string, unknown> | undefined;
      this.opts.logger.error('alpaca stream: unreadable trade update skipped (REST reconciliation will cover it)', {
        event: u.event,
        brokerOrderId: order?.id,
        client_order_id: order?.client_order_id,
        error: String(err),
      });
      return;
    }
    if ((update.event === 'fill' || update.event === 'partial_fill') && !update.execution) {
      this.opts.logger.warn('alpaca stream: fill without execution_id', {
        brokerOrderId: update.order.id,
        client_order_id: update.order.clientOrderId,
      });
    }
    const handlers = this.handlers;
    this.delivery = this.delivery
      .then(() => handlers.onUpdate(update))
      .catch((err: unknown) =>
        this.opts.logger.error('alpaca stream: onUpdate failed', {
          event: update.event,
          client_order_id: update.order.clientOrderId,
          error: String(err),
        }),
      );
  }

  private onSdkError(message: string): void {
    if (this.stopped) return;
    if (message === 'auth failed') this.authRefused = true;
    this.opts.logger.warn('alpaca stream error', { message });
  }

  // --- helpers ---------------------------------------------------------------------------

  private setState(state: StreamState, reason: string): void {
    if (this.current === state) return;
    this.current = state;
    try {
      this.handlers?.onStateChange?.(state, reason);
    } catch (err) {
      this.opts.logger.error('alpaca stream: onStateChange failed', { error: String(err) });
    }
  }

  private settleFirst(err?: Error): void {
    const settle = this.firstOutcome;
    this.firstOutcome = undefined;
    if (!settle) return;
    if (err) settle.reject(err);
    else settle.resolve();
  }
}
