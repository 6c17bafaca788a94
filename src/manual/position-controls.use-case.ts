/**
 * Position close, adjust and flatten-all (docs/operator-controls.md#positions):
 * each reads the symbol's position and open orders (and the resting exit legs
 * of orders with legs on the closing side) under the symbol's
 * reduce-only lock, decides the order (./domain/position-actions.ts) and sends
 * it through the one order-entry door, reduce-only where it reduces: the door
 * refuses it if, under its exposure lock, it would no longer only reduce.
 *
 * Invariants:
 * - concurrent closes, adjusts and flattens of one symbol never send more
 *   than the position (the lock, then the door's reduce-only check);
 * - each call is a new action with a generated client_order_id; with an
 *   `idempotency_key` the id is derived from (action, symbol, strategy, key,
 *   trade date), so a retry answers the order it created (200), whatever
 *   the position is by then;
 * - the kill switch refuses them (503), the breaker, the gate and
 *   quarantines let the reduce-only ones through (the door's checks);
 * - a key must hold every strategy (`*`) to act on positions;
 * - each action is audited with its operator, refused or not.
 */
import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { ActorContext } from '../audit/audit-entry';
import { AuditRepository } from '../audit/audit.repository';
import { Principal } from '../auth/permission';
import { DomainError, ForbiddenError } from '../common/domain-error';
import { Clock } from '../infra/clock/clock';
import { OrderCommand } from '../order-entry/order-command';
import { SubmitOrderResult, SubmitOrderUseCase } from '../order-entry/submit-order.use-case';
import { ExposureRepository } from '../orders/persistence/exposure.repository';
import { OrderRepository } from '../orders/persistence/order.repository';
import { ExposureSnapshot, workingOn } from '../risk/pipeline/pre-trade-checks';
import { decideAdjust, decideClose, PositionActionDecision, PositionExposure } from './domain/position-actions';
import { ReduceOnlyLock } from './reduce-only-lock';

export const MANUAL_STRATEGY = 'manual';

export type PositionAction = 'close' | 'adjust' | 'flatten';

export interface PositionOrderOptions {
  orderType?: 'market' | 'limit';
  limitPrice?: string;
  strategyId?: string;
  idempotencyKey?: string;
  reason?: string;
  operator?: string;
}

@Injectable()
export class PositionControlsUseCase {
  constructor(
    private readonly submitOrder: SubmitOrderUseCase,
    private readonly exposure: ExposureRepository,
    private readonly orders: OrderRepository,
    private readonly lock: ReduceOnlyLock,
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
  ) {}

  close(
    symbol: string,
    qty: string | undefined,
    opts: PositionOrderOptions,
    principal: Principal,
    ctx: ActorContext,
  ): Promise<SubmitOrderResult> {
    return this.act('close', symbol, opts, principal, ctx, (e) => decideClose(e, qty));
  }

  adjust(
    symbol: string,
    targetQty: string,
    opts: PositionOrderOptions,
    principal: Principal,
    ctx: ActorContext,
  ): Promise<SubmitOrderResult> {
    return this.act('adjust', symbol, opts, principal, ctx, (e) => decideAdjust(e, targetQty));
  }

  /** A key that may act on positions: every strategy (positions are not per strategy). */
  assertMayActOnPositions(principal: Principal): void {
    if (principal.strategyScope !== undefined) {
      throw new ForbiddenError(
        'STRATEGY_FORBIDDEN',
        'Position controls need an API key for every strategy (strategies ["*"])',
      );
    }
  }

  /** One action on one symbol: `decide` runs on a fresh read under the symbol's lock. */
  async act(
    action: PositionAction,
    symbol: string,
    opts: PositionOrderOptions,
    principal: Principal,
    ctx: ActorContext,
    decide: (exposure: { positionQty: string; openBuyQty: string; openSellQty: string }) => PositionActionDecision,
  ): Promise<SubmitOrderResult> {
    this.assertMayActOnPositions(principal);
    const strategyId = opts.strategyId ?? MANUAL_STRATEGY;
    const operator = opts.operator ?? ctx.actor;
    const clientOrderId = opts.idempotencyKey
      ? this.derivedId(action, symbol, strategyId, opts.idempotencyKey)
      : `${action}-${randomBytes(10).toString('hex')}`;
    const auditAction = `position.${action}`;
    try {
      const result = await this.lock.withLock(symbol, async () => {
        if (opts.idempotencyKey) {
          const existing = await this.orders.findByClientOrderId(clientOrderId);
          if (existing) {
            const r: SubmitOrderResult = {
              order: existing,
              created: false,
              pending: false,
              message: 'Order already exists (idempotent replay)',
            };
            return r;
          }
        }
        const decided = decide(closing(await this.exposure.readClosing(symbol, strategyId)));
        if ('refusal' in decided) {
          const r = decided.refusal;
          throw new DomainError(r.status === 409 ? 'conflict' : 'rejected', r.code, r.message, {
            symbol,
            ...r.details,
          });
        }
        const orderType = opts.orderType ?? 'market';
        const command = OrderCommand.create({
          symbol,
          side: decided.order.side,
          qty: decided.order.qty,
          order_type: orderType,
          limit_price: opts.limitPrice,
          strategy_id: strategyId,
          client_order_id: clientOrderId,
        });
        return this.submitOrder.execute(command, principal, ctx, {
          metadata: {
            source: `position_${action}`,
            reason: opts.reason ?? null,
            operator,
            reduce_only: decided.order.reduceOnly,
            ...(opts.idempotencyKey ? { idempotency_key: opts.idempotencyKey } : {}),
          },
          reduceOnly: decided.order.reduceOnly,
        });
      });
      if (result.created) {
        await this.audit.append({
          action: auditAction,
          actor: operator,
          requestId: ctx.requestId,
          clientOrderId: result.order.clientOrderId,
          strategyId,
          symbol,
          details: { api_key: ctx.actor, reason: opts.reason ?? null, side: result.order.side, qty: result.order.qty },
        });
      }
      return result;
    } catch (err) {
      if (err instanceof DomainError) {
        await this.audit
          .append({
            action: auditAction,
            actor: operator,
            requestId: ctx.requestId,
            strategyId,
            symbol,
            reasonCode: err.code,
            details: { api_key: ctx.actor, reason: opts.reason ?? null, refused: err.message },
          })
          .catch(() => undefined);
      }
      throw err;
    }
  }

  /** A retry-safe id: same action, symbol, strategy, key and trade date → same id (≤ 48 characters). */
  private derivedId(action: PositionAction, symbol: string, strategyId: string, key: string): string {
    const day = this.clock.now().toISOString().slice(0, 10);
    const hash = createHash('sha256').update(`${action}|${symbol}|${strategyId}|${key}|${day}`).digest('hex');
    return `${action}-${hash.slice(0, 24)}`;
  }
}

/** What already closes the position on each side: its open orders and the resting exit legs read on it. */
function closing(e: ExposureSnapshot): PositionExposure {
  return {
    positionQty: e.positionQty,
    openBuyQty: workingOn('buy', e).toFixed(),
    openSellQty: workingOn('sell', e).toFixed(),
  };
}
