/** The sim's report endpoints (orders, positions, fills), read from its book. */
import type { BrokerFill, BrokerOrder, BrokerPosition, ListFillsQuery, ListOrdersQuery } from '../broker-client.port';
import { invalidRequest } from './sim-errors';
import type { SimArchiveOrdersQuery } from './sim-book';
import type { SimExchange, SimExecution } from './sim-exchange';
import { isLive } from './sim-order';

const MAX_LIST_ORDERS = 500;
const DEFAULT_LIST_ORDERS = 50;
const MAX_FILLS_PAGE = 100;

/** The query validated: limit within bounds, symbols null for any. */
export function ordersQuery(q: ListOrdersQuery): SimArchiveOrdersQuery {
  const limit = q.limit ?? DEFAULT_LIST_ORDERS;
  if (!Number.isSafeInteger(limit) || limit < 1) throw invalidRequest(`invalid limit: ${limit}`);
  const symbols = q.symbols && q.symbols.length > 0 ? [...q.symbols] : null;
  return { status: q.status, after: q.after, until: q.until, symbols, limit: Math.min(limit, MAX_LIST_ORDERS) };
}

/**
 * Newest first (Alpaca's default direction), of the orders in memory (live
 * ones and the most recently ended); `after`/`until` are exclusive bounds on created_at.
 */
export function listOrders(ex: SimExchange, query: ListOrdersQuery): BrokerOrder[] {
  const q = ordersQuery(query);
  const symbols = q.symbols === null ? null : new Set(q.symbols);
  return (
    [...ex.orders.values()]
      // As Alpaca's nested=true: legs are answered under their parent, not beside it.
      .filter((o) => o.parentId === null)
      .filter((o) => q.status === 'all' || (q.status === 'open') === isLive(o))
      .filter((o) => symbols === null || symbols.has(o.symbol))
      .filter((o) => q.after === undefined || o.createdAt.getTime() > q.after.getTime())
      .filter((o) => q.until === undefined || o.createdAt.getTime() < q.until.getTime())
      .sort((a, b) => b.seq - a.seq)
      .slice(0, q.limit)
      .map((o) => ex.report(o))
  );
}

export function listPositions(ex: SimExchange): BrokerPosition[] {
  return ex.ledger.openPositions().map(([symbol, p]) => {
    const current = ex.referencePriceOf(symbol);
    return {
      symbol,
      qty: p.qty.toFixed(),
      avgEntryPrice: p.avgEntryPrice.toFixed(),
      marketValue: p.qty.mul(current).toFixed(),
      currentPrice: current.toFixed(),
      unrealizedPl: current.minus(p.avgEntryPrice).mul(p.qty).toFixed(),
    };
  });
}

export function fillsPageSize(q: ListFillsQuery): number {
  const pageSize = q.pageSize ?? MAX_FILLS_PAGE;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw invalidRequest(`invalid page_size: ${pageSize}`);
  return Math.min(pageSize, MAX_FILLS_PAGE);
}

/**
 * Executions oldest first, of those in memory (sim-lookup.ts reads the durable
 * book for the others). The page token is the last execution id received;
 * `after`/`until` are exclusive bounds on the transaction time.
 */
export function listFills(ex: SimExchange, q: ListFillsQuery): { fills: BrokerFill[]; nextPageToken: string | null } {
  const size = fillsPageSize(q);
  let fromSeq = -1;
  if (q.pageToken !== undefined) {
    const anchor = ex.executions.find((e) => e.executionId === q.pageToken);
    if (anchor === undefined) throw invalidRequest(`invalid page_token: ${q.pageToken}`);
    fromSeq = anchor.seq;
  }
  const matching: SimExecution[] = [];
  for (const e of ex.executions) {
    if (matching.length > size) break;
    if (e.seq <= fromSeq) continue;
    if (q.after !== undefined && e.transactionTime.getTime() <= q.after.getTime()) continue;
    if (q.until !== undefined && e.transactionTime.getTime() >= q.until.getTime()) continue;
    matching.push(e);
  }
  return fillsPage(matching, size);
}

/** A page of `size` from `matching` (the executions after the token, oldest first; one more tells there is a next page). */
export function fillsPage(
  matching: readonly SimExecution[],
  size: number,
): { fills: BrokerFill[]; nextPageToken: string | null } {
  const page = matching.slice(0, size);
  const last = page[page.length - 1];
  return {
    fills: page.map((e) => ({
      executionId: e.executionId,
      brokerOrderId: e.orderId,
      symbol: e.symbol,
      side: e.side,
      qty: e.qty.toFixed(),
      price: e.price.toFixed(),
      cumQty: e.cumQty.toFixed(),
      leavesQty: e.leavesQty.toFixed(),
      transactionTime: new Date(e.transactionTime.getTime()),
    })),
    nextPageToken: last !== undefined && matching.length > page.length ? last.executionId : null,
  };
}
