/**
 * The fake Alpaca's trading routes: which request is which route, what each
 * route does on the exchange (fake-alpaca.exchange.ts), and how an answer is
 * written. Authentication, faults and logging are the server's
 * (fake-alpaca.server.ts); market data is fake-alpaca.market-data.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeExchange } from './fake-alpaca.exchange';
import type { WireResponse } from './fake-alpaca.wire';

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

export interface MatchedRoute {
  route: FakeRoute;
  params: string[];
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

export function matchRoute(method: string, path: string): MatchedRoute | undefined {
  for (const r of ROUTES) {
    if (r.method !== method) continue;
    const m = r.pattern.exec(path);
    if (m) return { route: r.route, params: m.slice(1).map((p) => decodeURIComponent(p)) };
  }
  return undefined;
}

/** Runs a trading route on the exchange; exceptions are the caller's (an internal error, answered 500). */
export function handleTrading(
  exchange: FakeExchange,
  route: FakeRoute,
  params: string[],
  query: URLSearchParams,
  body: unknown,
): WireResponse {
  switch (route) {
    case 'POST /v2/orders':
      return exchange.submit(body);
    case 'GET /v2/orders':
      return exchange.list(query);
    case 'DELETE /v2/orders':
      return exchange.cancelAll();
    case 'GET /v2/orders:by_client_order_id':
      return exchange.getByClientOrderId(query);
    case 'GET /v2/orders/:id':
      return exchange.get(params[0]);
    case 'PATCH /v2/orders/:id':
      return exchange.replace(params[0], body);
    case 'DELETE /v2/orders/:id':
      return exchange.cancel(params[0]);
    case 'GET /v2/positions':
      return exchange.listPositions();
    case 'GET /v2/positions/:symbol': {
      const p = exchange.positions().find((pos) => pos.symbol === params[0]);
      return p
        ? { status: 200, body: p }
        : { status: 404, body: { code: 40410000, message: 'position does not exist' } };
    }
    case 'DELETE /v2/positions/:symbol':
      return exchange.closePosition(params[0], query);
    case 'GET /v2/account':
      return { status: 200, body: exchange.account() };
    case 'GET /v2/account/activities':
      return exchange.listActivities(query);
    case 'GET /v2/account/activities/:type':
      return exchange.listActivities(query, params[0]);
  }
}

/** Writes `answer` as JSON, unless the response is already gone. */
export function writeAnswer(res: ServerResponse, answer: WireResponse, requestId: string): void {
  if (res.destroyed || res.writableEnded) return;
  const headers: Record<string, string> = { 'X-Request-ID': requestId, ...answer.headers };
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

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
