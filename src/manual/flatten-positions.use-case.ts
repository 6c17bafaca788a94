/**
 * POST /positions/flatten-all (docs/operator-controls.md#positions): every
 * open order cancelled first, then one reduce-only market order per non-zero
 * position, each through the same close as POST /positions/{symbol}/close
 * (the symbol's lock, the door). The cancels' confirmations are awaited for a
 * bounded time (REDUCE_ONLY_LOCK_BLOCKING_SECONDS), so the closes are not
 * reduced by orders that are going away; an order whose cancel is still
 * unconfirmed keeps counting, so nothing can go past flat.
 */
import { Inject, Injectable } from '@nestjs/common';
import { ActorContext } from '../audit/audit-entry';
import { AuditRepository } from '../audit/audit.repository';
import { Principal } from '../auth/permission';
import { Decimal } from '../common/decimal';
import { DomainError } from '../common/domain-error';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { CancelAllOrdersUseCase } from '../controls/cancel-all-orders.use-case';
import { Clock } from '../infra/clock/clock';
import { Scheduler } from '../infra/clock/scheduler';
import { OrderRepository } from '../orders/persistence/order.repository';
import { PositionRepository } from '../positions/persistence/position.repository';
import { Order } from '../trading/order';
import { isTerminal } from '../trading/order-state-machine';
import { decideClose } from './domain/position-actions';
import { PositionControlsUseCase } from './position-controls.use-case';

const SETTLE_POLL_MS = 100;

export interface FlattenResult {
  canceled: string[];
  orders: Array<{ order: Order; message: string }>;
  failed: Array<{ symbol?: string; client_order_id?: string; error: string; message?: string }>;
}

@Injectable()
export class FlattenPositionsUseCase {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly cancelAll: CancelAllOrdersUseCase,
    private readonly controls: PositionControlsUseCase,
    private readonly positions: PositionRepository,
    private readonly orders: OrderRepository,
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
    private readonly scheduler: Scheduler,
  ) {}

  async execute(
    opts: { strategyId?: string; reason?: string; operator?: string },
    principal: Principal,
    ctx: ActorContext,
  ): Promise<FlattenResult> {
    this.controls.assertMayActOnPositions(principal);
    const operator = opts.operator ?? ctx.actor;
    const cancels = await this.cancelAll.run({}, principal, { operator, reason: opts.reason ?? 'flatten-all' }, ctx);
    await this.settle(cancels.pendingIds);
    const result: FlattenResult = {
      canceled: [...cancels.canceledIds, ...cancels.pendingIds],
      orders: [],
      failed: cancels.failed.map((f) => ({ client_order_id: f.client_order_id, error: f.error })),
    };
    for (const position of await this.positions.listAll()) {
      if (new Decimal(position.qty).isZero()) continue;
      try {
        const r = await this.controls.act(
          'flatten',
          position.symbol,
          { strategyId: opts.strategyId, reason: opts.reason, operator },
          principal,
          ctx,
          (e) => decideClose(e),
        );
        result.orders.push({ order: r.order, message: r.message });
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        result.failed.push({ symbol: position.symbol, error: err.code, message: err.message });
      }
    }
    await this.audit.append({
      action: 'positions.flatten_all',
      actor: operator,
      requestId: ctx.requestId,
      details: {
        api_key: ctx.actor,
        reason: opts.reason ?? null,
        canceled: result.canceled,
        orders: result.orders.map((o) => o.order.clientOrderId),
        failed: result.failed,
      },
    });
    return result;
  }

  /** Waits, for a bounded time, until the cancels sent are confirmed (the orders ended). */
  private async settle(pendingIds: string[]): Promise<void> {
    let waiting = pendingIds;
    const deadline = this.clock.now().getTime() + this.config.reduceOnlyLock.blockingSeconds * 1_000;
    while (waiting.length && this.clock.now().getTime() < deadline) {
      await this.scheduler.sleep(SETTLE_POLL_MS);
      const still: string[] = [];
      for (const id of waiting) {
        const o = await this.orders.findByClientOrderId(id);
        if (o && !isTerminal(o.status)) still.push(id);
      }
      waiting = still;
    }
  }
}
