/**
 * Accepting a TWAP plan (docs/twap.md#accepting-a-plan).
 *
 * Invariants:
 * - one request on one trade date is one plan: the parent id derives from its
 *   terms and schedule; a replay answers the stored plan (200) without
 *   checking again (a replay adds no exposure);
 * - the whole plan passes the pre-trade checks when accepted: kill switch,
 *   breaker, gate, fat-finger on the total and on the largest slice, limits
 *   on the total; then the slice bound of the symbol's ADV. A refusal is
 *   audited and writes nothing;
 * - the plan, its slices and its audit row are written in one transaction;
 *   each slice passes the checks again when it is sent (./twap-dispatcher.service.ts).
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ActorContext } from '../../audit/audit-entry';
import { AuditRepository } from '../../audit/audit.repository';
import { Principal } from '../../auth/permission';
import { ConflictError, DomainError, ForbiddenError } from '../../common/domain-error';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Clock } from '../../infra/clock/clock';
import { UnitOfWork } from '../../infra/database/unit-of-work';
import { MARKET_DATA, MarketDataProvider } from '../../market-data/market-data.port';
import { ExposureRepository } from '../../orders/persistence/exposure.repository';
import { PreTradeChecks } from '../../risk/pipeline/pre-trade-checks.service';
import { buildNewOrder, NewOrder } from '../../trading/order';
import { checkSliceAdv, largestSlice, parentOrderId, planSlices, sliceClientOrderId } from '../domain/twap-plan';
import { TwapPlan, TwapRepository } from '../persistence/twap.repository';
import { SlicingCommand } from '../slicing-command';

export interface CreatePlanResult {
  plan: TwapPlan;
  created: boolean;
}

@Injectable()
export class CreatePlanUseCase {
  private readonly logger = new Logger('Twap');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(MARKET_DATA) private readonly marketData: MarketDataProvider,
    private readonly plans: TwapRepository,
    private readonly exposure: ExposureRepository,
    private readonly checks: PreTradeChecks,
    private readonly audit: AuditRepository,
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  async execute(cmd: SlicingCommand, principal: Principal, ctx: ActorContext): Promise<CreatePlanResult> {
    const now = this.clock.now();
    const o = cmd.order;
    const strategyId = o.strategyId ?? this.config.strategyId;
    if (!principal.canAccessStrategy(strategyId)) {
      throw new ForbiddenError('STRATEGY_FORBIDDEN', `This API key may not submit orders for strategy "${strategyId}"`);
    }
    const at = cmd.tradeDate ? new Date(`${cmd.tradeDate}T12:00:00.000Z`) : now;
    const parentId = parentOrderId(
      { ...o, strategyId, at, idempotencyKey: o.idempotencyKey },
      cmd.durationMinutes,
      cmd.intervalSeconds,
    );
    const existing = await this.plans.findPlan(parentId);
    if (existing) return this.replay(existing, principal);

    // The plan as one order: what the checks judge and what a refusal's audit row describes.
    const whole: NewOrder = {
      ...buildNewOrder({ ...o, strategyId, clientOrderId: parentId }, { strategyId, status: 'pending_new' }, now),
      metadata: { twap: { duration_minutes: cmd.durationMinutes, interval_seconds: cmd.intervalSeconds } },
    };
    const n = cmd.totalSlices;
    await this.check(whole, String(largestSlice(cmd.qty, n)), ctx);
    await this.checkLiquidity(whole, cmd, ctx);
    const arrival = await this.marketData.latestPrice(o.symbol).catch(() => null);

    const plan: TwapPlan = {
      parentOrderId: parentId,
      strategyId,
      symbol: o.symbol,
      side: o.side,
      totalQty: cmd.qty,
      orderType: o.orderType,
      limitPrice: o.limitPrice,
      stopPrice: o.stopPrice,
      timeInForce: o.timeInForce,
      durationMinutes: cmd.durationMinutes,
      intervalSeconds: cmd.intervalSeconds,
      totalSlices: n,
      status: 'scheduled',
      arrivalPrice: arrival?.price ?? null,
      createdBy: ctx.actor,
      createdAt: now,
      endedAt: null,
      shortfallQty: null,
    };
    const slices = planSlices(cmd.qty, cmd.durationMinutes, cmd.intervalSeconds, now);
    const created = await this.uow.run(async (tx) => {
      const inserted = await this.plans.insertPlan(
        tx,
        plan,
        slices,
        slices.map((s) => sliceClientOrderId(parentId, s.sliceNum)),
      );
      if (inserted) {
        await this.audit.append(
          {
            action: 'twap.accepted',
            actor: ctx.actor,
            requestId: ctx.requestId,
            clientOrderId: parentId,
            strategyId,
            symbol: o.symbol,
            details: {
              side: o.side,
              total_qty: cmd.qty,
              total_slices: n,
              duration_minutes: cmd.durationMinutes,
              interval_seconds: cmd.intervalSeconds,
              order_type: o.orderType,
              arrival_price: plan.arrivalPrice,
            },
            occurredAt: now,
          },
          tx,
        );
      }
      return inserted;
    });
    if (created) return { plan, created: true };
    const raced = await this.plans.findPlan(parentId);
    if (!raced) throw new Error(`plan ${parentId} conflicted on insert but cannot be read`);
    return this.replay(raced, principal);
  }

  private replay(existing: TwapPlan, principal: Principal): CreatePlanResult {
    if (!principal.canAccessStrategy(existing.strategyId)) {
      throw new ConflictError(
        'PARENT_ORDER_ID_UNAVAILABLE',
        `parent_order_id ${existing.parentOrderId} cannot be used by this API key; send an idempotency_key`,
        { parent_order_id: existing.parentOrderId },
      );
    }
    return { plan: existing, created: false };
  }

  /** The pipeline on the whole plan and on its largest slice; the first refusal is thrown, audited. */
  private async check(whole: NewOrder, largest: string, ctx: ActorContext): Promise<void> {
    if (!this.checks.enabled) return;
    const early = this.checks.early();
    if (early) throw await this.checks.refusal(whole, ctx, early);
    const slice = { ...whole, qty: largest };
    try {
      const [inputs, sliceInputs, exposure] = await Promise.all([
        this.checks.gather(whole),
        this.checks.gather(slice),
        this.exposure.read(whole.symbol, whole.strategyId),
      ]);
      const denial = this.checks.decide(whole, inputs, exposure) ?? this.checks.decide(slice, sliceInputs, exposure);
      if (denial) throw await this.checks.refusal(whole, ctx, denial);
    } catch (err) {
      if (err instanceof DomainError) throw err;
      this.logger.error(`pre-trade check of plan ${whole.clientOrderId} failed: ${(err as Error).message}`);
      throw new DomainError(
        'unavailable',
        'SAFETY_STATE_UNAVAILABLE',
        'The plan could not be checked against the risk state (database unavailable); nothing was written',
        { parent_order_id: whole.clientOrderId },
      );
    }
  }

  /** No slice larger than MAX_SLICE_PCT_OF_ADV of the symbol's ADV; ADV unknown refuses unless the check is off. */
  private async checkLiquidity(whole: NewOrder, cmd: SlicingCommand, ctx: ActorContext): Promise<void> {
    const adv = await this.marketData.averageDailyVolume(whole.symbol).catch(() => null);
    if (!adv) {
      if (!this.config.liquidityCheckEnabled) return;
      throw await this.refuse(whole, ctx, 'ADV_UNAVAILABLE', `The average daily volume of ${whole.symbol} is unknown`, {
        symbol: whole.symbol,
      });
    }
    const pct = this.config.maxSlicePctOfAdv;
    const advice = checkSliceAdv(cmd.qty, cmd.durationMinutes, cmd.intervalSeconds, adv.adv, pct);
    if (!advice) return;
    throw await this.refuse(
      whole,
      ctx,
      'SLICE_EXCEEDS_ADV_PCT',
      `The largest slice (${advice.largest_slice}) exceeds ${pct} of ${whole.symbol}'s ADV (${adv.adv}): at most ${advice.max_slice_qty} shares per slice`,
      { ...advice },
    );
  }

  private async refuse(
    whole: NewOrder,
    ctx: ActorContext,
    code: string,
    message: string,
    details: Record<string, unknown>,
  ): Promise<DomainError> {
    await this.audit
      .append({
        action: 'twap.rejected',
        actor: ctx.actor,
        requestId: ctx.requestId,
        clientOrderId: whole.clientOrderId,
        strategyId: whole.strategyId,
        symbol: whole.symbol,
        reasonCode: code,
        details: { side: whole.side, qty: whole.qty, message, ...details },
      })
      .catch((err: unknown) => this.logger.error(`cannot audit the ${code} refusal: ${String(err)}`));
    return new DomainError('rejected', code, message, { parent_order_id: whole.clientOrderId, ...details });
  }
}
