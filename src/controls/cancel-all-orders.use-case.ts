/**
 * Cancelling every open order (the kill switch's optional cancel-all, docs/risk-and-safety.md):
 * each open order through the one CancelOrderUseCase, so each is cancelled at
 * the broker, or locally when it never got there, exactly as a single cancel
 * would. Orders the gateway never sent (reconciliation's orphans) are not
 * touched: they are not in the orders table.
 */
import { Injectable, Logger } from '@nestjs/common';
import { ActorContext } from '../audit/audit-entry';
import { Principal, PERMISSIONS } from '../auth/permission';
import { Clock } from '../infra/clock/clock';
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

/** Every strategy: cancel-all is an operator's action across the book. */
const SYSTEM = new Principal('system', 'cancel-all', new Set(PERMISSIONS), ['*']);

@Injectable()
export class CancelAllOrdersUseCase {
  private readonly logger = new Logger('CancelAll');

  constructor(
    private readonly orders: OrderRepository,
    private readonly cancel: CancelOrderUseCase,
    private readonly clock: Clock,
  ) {}

  async execute(ctx: ActorContext): Promise<CancelAllSummary> {
    const summary: CancelAllSummary = { found: 0, canceled: 0, pending: 0, failed: [] };
    const statuses = [...OPEN_STATUSES];
    // Orders changed after this instant are left to the caller's next sweep (no endless loop).
    const before = new Date(this.clock.now().getTime() + 1);
    let after = '';
    for (;;) {
      const page = await this.orders.findPageByStatus(statuses, before, after, PAGE);
      if (!page.length) break;
      after = page[page.length - 1].clientOrderId;
      summary.found += page.length;
      for (let i = 0; i < page.length; i += CONCURRENCY) {
        await Promise.all(
          page.slice(i, i + CONCURRENCY).map(async (order) => {
            try {
              const result = await this.cancel.execute(order.clientOrderId, SYSTEM, ctx);
              if (result.pending || !isTerminal(result.order.status)) {
                summary.pending += 1;
              } else {
                summary.canceled += 1;
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
