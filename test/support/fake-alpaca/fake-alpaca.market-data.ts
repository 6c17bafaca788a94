/**
 * Market data endpoints of the fake Alpaca, in Alpaca's data v2 wire format
 * (JSON numbers for prices and sizes, RFC-3339 timestamps with nanoseconds),
 * served by FakeAlpacaServer on the same port as trading (ALPACA_DATA_URL =
 * the fake's baseUrl):
 *
 *   GET /v2/stocks/{symbol}/trades/latest   {"symbol","trade":{t,x,p,s,c,i,z}}; 404 when no trade
 *   GET /v2/stocks/{symbol}/quotes/latest   {"symbol","quote":{t,ax,ap,as,bx,bp,bs,c,z}}; 404 when no quote
 *   GET /v2/stocks/{symbol}/bars            timeframe=1Day only; start, end, limit, sort=asc|desc;
 *                                           {"bars":[{t,o,h,l,c,v,n,vw}]|null,"symbol","next_page_token"}
 *
 * A symbol nobody configured trades at the trading fake's reference price
 * (setPrice / defaultPrice), stamped "now" by the fake's clock, with a quote
 * 1 cent either side and daily bars of DEFAULT_BAR_VOLUME shares, so other
 * tests that run the whole gateway against the fake see fresh prices and
 * ample volume. Controls: setTrade, setQuote, setBars, clearTrade, makeUnknown,
 * failNext (status), delayNext, dropNext; requests() records what was asked.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Decimal } from '../../../src/common/decimal';
import type { WireResponse } from './fake-alpaca.wire';
import { takeCounted } from './take-counted';

export type MarketDataRoute = 'trades/latest' | 'quotes/latest' | 'bars';
export type MarketDataFaultRoute = MarketDataRoute | '*';

export interface FakeTrade {
  price: string;
  at: Date | string;
  size?: number;
  /** Alpaca's `u`: canceled | incorrect | corrected. */
  update?: string;
}

export interface FakeQuote {
  bid: string;
  ask: string;
  at: Date | string;
}

export interface FakeBar {
  /** The session's date (YYYY-MM-DD) or the bar's exact timestamp. */
  date: string;
  volume: number | string;
  close?: string;
}

export interface MarketDataRequest {
  route: MarketDataRoute;
  symbol: string;
  query: Record<string, string>;
  keyId: string | undefined;
}

export const DEFAULT_BAR_VOLUME = 50_000_000;
const DEFAULT_BAR_COUNT = 40;
const DAY_MS = 86_400_000;

interface SymbolData {
  trade?: FakeTrade | null;
  quote?: FakeQuote | null;
  bars?: FakeBar[] | null;
}

interface Fault {
  route: MarketDataFaultRoute;
  remaining: number;
  kind: 'fail' | 'delay' | 'drop';
  status?: number;
  ms?: number;
}

const PATH = /^\/v2\/stocks\/([^/]+)\/(trades\/latest|quotes\/latest|bars)$/;

/** RFC-3339 with nanoseconds, as Alpaca prints trade and quote times. */
function nanoTimestamp(at: Date | string): string {
  const iso = new Date(at).toISOString();
  return `${iso.slice(0, -1)}000000Z`;
}

/** A session date as Alpaca stamps daily bars: midnight New York time (05:00Z; close enough across DST). */
function barTimestamp(date: string): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(date) ? `${date}T05:00:00Z` : new Date(date).toISOString().replace('.000Z', 'Z');
}

function num(decimal: string | number): number {
  return typeof decimal === 'number' ? decimal : Number(new Decimal(decimal).toFixed());
}

export class FakeMarketData {
  private readonly symbols = new Map<string, SymbolData>();
  private readonly faults: Fault[] = [];
  private readonly log: MarketDataRequest[] = [];
  private tradeSeq = 0;

  constructor(
    private readonly deps: {
      keyId: string;
      secretKey: string;
      now: () => Date;
      referencePrice: (symbol: string) => string;
    },
  ) {}

  // --- controls --------------------------------------------------------------------------

  setTrade(symbol: string, trade: FakeTrade | null): void {
    this.data(symbol).trade = trade;
  }

  /** The symbol has no latest trade (404), so a client falls back to the quote. */
  clearTrade(symbol: string): void {
    this.data(symbol).trade = null;
  }

  setQuote(symbol: string, quote: FakeQuote | null): void {
    this.data(symbol).quote = quote;
  }

  setBars(symbol: string, bars: FakeBar[] | null): void {
    this.data(symbol).bars = bars;
  }

  /** No trade, no quote (404) and no bars (`"bars": null`), as for a symbol Alpaca does not know. */
  makeUnknown(symbol: string): void {
    this.symbols.set(symbol, { trade: null, quote: null, bars: null });
  }

  /** The next `n` requests on `route` answer `status` (default 503). */
  failNext(n = 1, status = 503, route: MarketDataFaultRoute = '*'): void {
    this.faults.push({ kind: 'fail', route, remaining: n, status });
  }

  /** The next `n` requests on `route` are answered after `ms`. */
  delayNext(ms: number, n = 1, route: MarketDataFaultRoute = '*'): void {
    this.faults.push({ kind: 'delay', route, remaining: n, ms });
  }

  /** The next `n` requests on `route` get their connection destroyed, unanswered. */
  dropNext(n = 1, route: MarketDataFaultRoute = '*'): void {
    this.faults.push({ kind: 'drop', route, remaining: n });
  }

  requests(route?: MarketDataRoute): MarketDataRequest[] {
    return this.log.filter((r) => route === undefined || r.route === route);
  }

  reset(): void {
    this.symbols.clear();
    this.faults.length = 0;
    this.log.length = 0;
  }

  // --- serving -------------------------------------------------------------------------------

  handles(pathname: string): boolean {
    return PATH.test(pathname);
  }

  async respond(method: string, url: URL, headers: IncomingHttpHeaders): Promise<WireResponse | 'drop'> {
    const m = PATH.exec(url.pathname);
    if (!m || method !== 'GET') return { status: 404, body: { message: 'Not Found' } };
    const symbol = decodeURIComponent(m[1]);
    const route = m[2] as MarketDataRoute;
    const keyId = typeof headers['apca-api-key-id'] === 'string' ? headers['apca-api-key-id'] : undefined;
    this.log.push({ route, symbol, query: Object.fromEntries(url.searchParams), keyId });
    if (keyId !== this.deps.keyId || headers['apca-api-secret-key'] !== this.deps.secretKey) {
      return { status: 401, body: { message: 'unauthorized' } };
    }
    for (let fault = takeCounted(this.faults, route); fault; fault = takeCounted(this.faults, route)) {
      if (fault.kind === 'drop') return 'drop';
      if (fault.kind === 'fail') {
        const status = fault.status ?? 503;
        return { status, body: { code: status * 100000 + 10000, message: `fake market data failure ${status}` } };
      }
      await new Promise<void>((resolve) => setTimeout(resolve, fault.ms).unref());
    }
    switch (route) {
      case 'trades/latest':
        return this.latestTrade(symbol);
      case 'quotes/latest':
        return this.latestQuote(symbol);
      case 'bars':
        return this.bars(symbol, url.searchParams);
    }
  }

  private latestTrade(symbol: string): WireResponse {
    const configured = this.symbols.get(symbol)?.trade;
    const trade =
      configured === undefined ? { price: this.deps.referencePrice(symbol), at: this.deps.now() } : configured;
    if (trade === null) return { status: 404, body: { code: 40410000, message: `no trade found for ${symbol}` } };
    return {
      status: 200,
      body: {
        symbol,
        trade: {
          t: nanoTimestamp(trade.at),
          x: 'V',
          p: num(trade.price),
          s: trade.size ?? 100,
          c: ['@'],
          i: ++this.tradeSeq,
          z: 'C',
          ...(trade.update ? { u: trade.update } : {}),
        },
      },
    };
  }

  private latestQuote(symbol: string): WireResponse {
    const configured = this.symbols.get(symbol)?.quote;
    let quote: FakeQuote | null;
    if (configured === undefined) {
      const ref = new Decimal(this.deps.referencePrice(symbol));
      quote = { bid: ref.minus('0.01').toFixed(), ask: ref.plus('0.01').toFixed(), at: this.deps.now() };
    } else {
      quote = configured;
    }
    if (quote === null) return { status: 404, body: { code: 40410000, message: `no quote found for ${symbol}` } };
    return {
      status: 200,
      body: {
        symbol,
        quote: {
          t: nanoTimestamp(quote.at),
          ax: 'V',
          ap: num(quote.ask),
          as: 2,
          bx: 'V',
          bp: num(quote.bid),
          bs: 3,
          c: ['R'],
          z: 'C',
        },
      },
    };
  }

  private bars(symbol: string, query: URLSearchParams): WireResponse {
    if (query.get('timeframe') !== '1Day') {
      return { status: 400, body: { code: 40010001, message: 'fake supports timeframe=1Day only' } };
    }
    const configured = this.symbols.get(symbol)?.bars;
    if (configured === null) return { status: 200, body: { bars: null, symbol, next_page_token: null } };
    const bars = (configured ?? this.defaultBars()).map((b) => {
      const close = num(b.close ?? this.deps.referencePrice(symbol));
      return { t: barTimestamp(b.date), o: close, h: close, l: close, c: close, v: num(b.volume), n: 1000, vw: close };
    });
    const start = query.get('start') ? new Date(query.get('start')!).getTime() : Number.NEGATIVE_INFINITY;
    const end = query.get('end') ? new Date(query.get('end')!).getTime() : this.deps.now().getTime();
    const sort = query.get('sort') ?? 'asc';
    const limit = query.get('limit') ? Number(query.get('limit')) : 1000;
    const selected = bars
      .filter((b) => Date.parse(b.t) >= start && Date.parse(b.t) <= end)
      .sort((a, b) => (sort === 'desc' ? Date.parse(b.t) - Date.parse(a.t) : Date.parse(a.t) - Date.parse(b.t)));
    const page = selected.slice(0, limit);
    return {
      status: 200,
      body: {
        bars: page.length > 0 ? page : null,
        symbol,
        next_page_token: selected.length > limit ? Buffer.from(page[page.length - 1].t).toString('base64') : null,
      },
    };
  }

  /** The last DEFAULT_BAR_COUNT weekdays before today (UTC), DEFAULT_BAR_VOLUME each. */
  private defaultBars(): FakeBar[] {
    const today = Date.UTC(
      this.deps.now().getUTCFullYear(),
      this.deps.now().getUTCMonth(),
      this.deps.now().getUTCDate(),
    );
    const out: FakeBar[] = [];
    for (let d = today - DAY_MS; out.length < DEFAULT_BAR_COUNT; d -= DAY_MS) {
      const day = new Date(d).getUTCDay();
      if (day !== 0 && day !== 6)
        out.push({ date: new Date(d).toISOString().slice(0, 10), volume: DEFAULT_BAR_VOLUME });
    }
    return out;
  }

  private data(symbol: string): SymbolData {
    let d = this.symbols.get(symbol);
    if (!d) {
      d = {};
      this.symbols.set(symbol, d);
    }
    return d;
  }
}
