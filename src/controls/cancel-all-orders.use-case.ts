/**
 * Cancelling every open order (POST /orders/cancel-all, the kill switch's
 * optional cancel-all and flatten-all; docs/operator-controls.md, docs/risk-and-safety.md):
 * each open order through the one CancelOrderUseCase, so each is cancelled at
 * the broker, or locally when it never got there, exactly as a single cancel
 * would. Orders the gateway never sent (reconciliation's orphans) are not
 * touched: they are not in the orders table.
 */
import { Injectable, Logger } from '@nestjs/common';
import { ActorContext } from '../audit/audit-entry';
import { AuditRepository } from '../audit/audit.repository';
import { Principal, PERMISSIONS } from '../auth/permission';
import { Clock } from '../infra/clock/clock';
import { OrderSide } from '../trading/order-status';
import { isTerminal, OPEN_STATUSES } from '../trading/order-state-machine';
import { OrderRepository } from '../orders/persistence/order.repository';
import { CancelOrderUseCase } from '../orders/use-cases/cancel-order.use-case';

const PAGE = 200;
const CONCURRENCY = 8;

export interface CancelAllSummary {
  /** Open orders found. */
  found: number;
  /** Now terminal (cancelled locally, or the broker confirmed). */
  canceled: number;
  /** Cancel sent; the broker's confirmation follows as an update. */
  pending: number;
  failed: Array<{ client_order_id: string; error: string }>;
}

/** The summary and which orders: ended at once, or with the cancel sent and the broker's word to follow. */
export interface CancelAllReport extends CancelAllSummary {
  canceledIds: string[];
  pendingIds: string[];
}

/** Which open orders: all by default. */
export interface CancelAllFilter {
  symbol?: string;
  strategyId?: string;
  side?: OrderSide;
}

/** An operator's cancel-all: who and why, for the action's audit row. */
export interface CancelAllAction {
  operator: string;
  reason: string | null;
}

export function toSummary(r: CancelAllReport): CancelAllSummary {
  return { found: r.found, canceled: r.canceled, pending: r.pending, failed: r.failed };
}

/** Every strategy: cancel-all is an operator's action across the book. */
const SYSTEM = new Principal('system', 'cancel-all', new Set(PERMISSIONS), ['*']);

@Injectable()
export class CancelAllOrdersUseCase {
  private readonly logger = new Logger('CancelAll');

  constructor(
    private readonly orders: OrderRepository,
    private readonly cancel: CancelOrderUseCase,
    private readonly clock: Clock,
    private readonly audit: AuditRepository,
  ) {}

  /**
   * An operator's cancel-all: the orders `filter` and the key's strategies
   * select, each cancelled (each cancel audited), and one audit row for the
   * action with its operator and outcome.
   */
  async run(
    filter: CancelAllFilter,
    principal: Principal,
    action: CancelAllAction,
    ctx: ActorContext,
  ): Promise<CancelAllReport> {
    const report = await this.execute(ctx, filter, principal);
    await this.audit.append({
      action: 'orders.cancel_all',
      actor: action.operator,
      requestId: ctx.requestId,
      symbol: filter.symbol ?? null,
      strategyId: filter.strategyId ?? null,
      details: {
        api_key: ctx.actor,
        reason: action.reason,
        filter: { symbol: filter.symbol ?? null, strategy_id: filter.strategyId ?? null, side: filter.side ?? null },
        requested: report.found,
        canceled: [...report.canceledIds, ...report.pendingIds],
        failed: report.failed,
      },
    });
    return report;
  }

  /** Cancels the open orders `filter` selects within `principal`'s strategies (default: all of them). */
  async execute(
    ctx: ActorContext,
    filter: CancelAllFilter = {},
    principal: Principal = SYSTEM,
  ): Promise<CancelAllReport> {
    const summary: CancelAllReport = { found: 0, canceled: 0, pending: 0, failed: [], canceledIds: [], pendingIds: [] };
    const selected = (o: { symbol: string; strategyId: string; side: OrderSide }) =>
      (!filter.symbol || o.symbol === filter.symbol) &&
      (!filter.strategyId || o.strategyId === filter.strategyId) &&
      (!filter.side || o.side === filter.side) &&
      principal.canAccessStrategy(o.strategyId);
    const statuses = [...OPEN_STATUSES];
    // Orders changed after this instant are left to the caller's next sweep (no endless loop).
    const before = new Date(this.clock.now().getTime() + 1);
    let after = '';
    for (;;) {
      const all = await this.orders.findPageByStatus(statuses, before, after, PAGE);
      if (!all.length) break;
      after = all[all.length - 1].clientOrderId;
      const page = all.filter(selected);
      summary.found += page.length;
      for (let i = 0; i < page.length; i += CONCURRENCY) {
        await Promise.all(
          page.slice(i, i + CONCURRENCY).map(async (order) => {
            try {
              const result = await this.cancel.execute(order.clientOrderId, principal, ctx);
              if (result.pending || !isTerminal(result.order.status)) {
                summary.pending += 1;
                summary.pendingIds.push(order.clientOrderId);
              } else {
                summary.canceled += 1;
                summary.canceledIds.push(order.clientOrderId);
              }
            } catch (err) {
              summary.failed.push({ client_order_id: order.clientOrderId, error: (err as Error).message });
            }
          }),
        );
      }
    }
    if (summary.found) {
      this.logger.warn(
        `cancel-all: ${summary.found} open orders, ${summary.canceled} canceled, ${summary.pending} pending, ${summary.failed.length} failed`,
      );
    }
    return summary;
  }
}
