import { Inject, Injectable, Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import type { PoolClient } from 'pg';
import { ActorContext } from '../../audit/audit-entry';
import { AuditRepository } from '../../audit/audit.repository';
import { DomainError } from '../../common/domain-error';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Clock } from '../../infra/clock/clock';
import { GatewayMetrics } from '../../infra/metrics/gateway-metrics';
import {
  MARKET_DATA,
  MarketDataProvider,
  MarketDataUnavailableError,
  PriceObservation,
} from '../../market-data/market-data.port';
import { NewOrder } from '../../trading/order';
import { KillSwitchService } from '../kill-switch/kill-switch.service';
import { AccountEquityService } from './account-equity.service';
import { ExposureRepository } from './exposure.repository';
import { PreTradeSwitch } from './pre-trade-switch';
import { CheckResult, Denial } from './pre-trade-check';
import {
  checkCircuitBreaker,
  checkKillSwitch,
  checkReconciliationGate,
  checkRiskLimits,
  ExposureSnapshot,
  firstDenial,
  isReduceOnly,
  OrderIntent,
  referencePrice,
  RiskLimits,
} from './pre-trade-checks';
import {
  CircuitBreakerSource,
  DailyPnlSource,
  FatFingerSource,
  MarketInputs,
  ReconciliationGateSource,
} from './pre-trade-sources';

/** How long one exposure read serves DRY_RUN orders of the same symbol and strategy. */
export const DRY_RUN_EXPOSURE_TTL_MS = 1_000;
const DRY_RUN_EXPOSURE_MAX_KEYS = 10_000;

/** What the caller writes once the order is admitted: in the exposure lock's transaction when there is one. */
export type AdmittedWrite<T> = (tx?: PoolClient) => Promise<T>;

/**
 * The pre-trade pipeline (SPEC §6 step 4): kill switch, circuit breaker,
 * reconciliation gate and quarantines, fat-finger, risk limits, in that
 * order; the first refusal is audited with its reason code and thrown (503
 * for safety gates, 422 for fat-finger and limits). Nothing slow runs inside
 * the transaction: market data, equity and P&L are gathered first, then the
 * exposure is read under the symbol and strategy locks, the checks run, and
 * the admitted order is written before the locks go.
 */
@Injectable()
export class PreTradePipeline {
  private readonly logger = new Logger('PreTrade');
  private readonly limits: RiskLimits;
  private readonly dryRunReads = new Map<string, { at: number; read: Promise<ExposureSnapshot> }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly killSwitch: KillSwitchService,
    private readonly breaker: CircuitBreakerSource,
    private readonly gate: ReconciliationGateSource,
    private readonly fatFinger: FatFingerSource,
    private readonly dailyPnl: DailyPnlSource,
    @Inject(MARKET_DATA) private readonly marketData: MarketDataProvider,
    private readonly equity: AccountEquityService,
    private readonly exposure: ExposureRepository,
    private readonly audit: AuditRepository,
    private readonly metrics: GatewayMetrics,
    private readonly clock: Clock,
    private readonly checks: PreTradeSwitch,
  ) {
    const r = config.riskLimits;
    this.limits = {
      maxPositionSize: r.maxPositionSize,
      maxPositionPct: r.maxPositionPct,
      dailyLossLimit: r.dailyLossLimit,
      maxOpenOrdersPerStrategy: r.maxOpenOrdersPerStrategy,
    };
  }

  /**
   * Checks `order` and, when it passes, runs `write` (the insert) while the
   * exposure it was checked against cannot change. A refused order that
   * `isReplay` says already exists is written anyway (the insert then finds
   * the existing order): a replay adds no exposure.
   */
  async admit<T>(
    order: NewOrder,
    ctx: ActorContext,
    write: AdmittedWrite<T>,
    isReplay: () => Promise<boolean>,
  ): Promise<T> {
    if (!this.checks.enabled) return write();
    const early = checkKillSwitch(this.killSwitch.current());
    if (early) return this.refuse(order, ctx, early, write, isReplay);

    const intent: OrderIntent = order;
    const [market, equity, dailyPnl] = await Promise.all([
      this.market(intent),
      this.equity.equity(),
      this.dailyPnl.total().catch(() => null),
    ]);
    const decide = (exposure: ExposureSnapshot): CheckResult => {
      const reduceOnly = isReduceOnly(intent, exposure);
      return firstDenial([
        () => checkKillSwitch(this.killSwitch.current()),
        () => checkCircuitBreaker(this.breaker.current(), reduceOnly),
        () => checkReconciliationGate(this.gate.current(), intent.symbol, reduceOnly),
        () => this.fatFinger.check(intent, market, this.clock.now()),
        () =>
          checkRiskLimits({
            order: intent,
            exposure,
            reduceOnly,
            referencePrice: referencePrice(intent, market.price?.price ?? null),
            equity,
            dailyPnl,
            limits: this.limits,
          }),
      ]);
    };

    let outcome: { denial: Denial } | { written: T };
    try {
      if (this.config.dryRun) {
        // A dry_run order never opens exposure, so no lock is needed to keep two of them honest.
        const denial = decide(await this.dryRunExposure(intent));
        outcome = denial ? { denial } : { written: await write() };
      } else {
        outcome = await this.exposure.withLock(intent.symbol, intent.strategyId, async (exposure, tx) => {
          const denial = decide(exposure);
          return denial ? { denial } : { written: await write(tx) };
        });
      }
    } catch (err) {
      if (err instanceof DomainError) throw err;
      // The exposure could not be read, or the order not written with it: nothing was written
      // (one transaction), and refusing is the safe side.
      this.logger.error(`pre-trade check of ${order.clientOrderId} failed: ${(err as Error).message}`);
      throw new DomainError(
        'unavailable',
        'SAFETY_STATE_UNAVAILABLE',
        'The order could not be checked against the risk state and recorded (database unavailable); nothing was written, send it again later (cancels still pass)',
        { client_order_id: order.clientOrderId },
      );
    }
    if ('written' in outcome) return outcome.written;
    return this.refuse(order, ctx, outcome.denial, write, isReplay);
  }

  /**
   * DRY_RUN: dry_run orders add no open orders and no fills, so the exposure they
   * are checked against changes only through what live trading left behind
   * (fills of older orders). One read per symbol and strategy serves for up to
   * DRY_RUN_EXPOSURE_TTL_MS; live orders always read it under the lock.
   */
  private dryRunExposure(order: OrderIntent): Promise<ExposureSnapshot> {
    const key = `${order.symbol}\u0000${order.strategyId}`;
    const now = performance.now();
    const cached = this.dryRunReads.get(key);
    if (cached && now - cached.at < DRY_RUN_EXPOSURE_TTL_MS) return cached.read;
    if (this.dryRunReads.size >= DRY_RUN_EXPOSURE_MAX_KEYS) this.dryRunReads.clear();
    const read = this.exposure.read(order.symbol, order.strategyId);
    this.dryRunReads.set(key, { at: now, read });
    read.catch(() => this.dryRunReads.delete(key));
    return read;
  }

  private async market(order: OrderIntent): Promise<MarketInputs> {
    const needsPrice = order.orderType === 'market';
    const [price, adv] = await Promise.all([
      needsPrice
        ? this.marketData.latestPrice(order.symbol).then(
            (p): { price: PriceObservation | null; error?: string } => ({ price: p }),
            (err: unknown) => ({ price: null, error: describe(err) }),
          )
        : Promise.resolve<{ price: PriceObservation | null; error?: string }>({ price: null }),
      this.marketData.averageDailyVolume(order.symbol).catch((err: unknown) => {
        this.logger.debug(`ADV of ${order.symbol} unavailable: ${describe(err)}`);
        return null;
      }),
    ]);
    return { price: price.price, priceError: price.error, adv };
  }

  private async refuse<T>(
    order: NewOrder,
    ctx: ActorContext,
    denial: Denial,
    write: AdmittedWrite<T>,
    isReplay: () => Promise<boolean>,
  ): Promise<T> {
    // A replay of an order that already exists adds no exposure: it is answered with that order.
    if (await isReplay().catch(() => false)) return write();
    this.metrics.orderRejected(denial.code);
    try {
      await this.audit.append({
        action: 'order.rejected',
        actor: ctx.actor,
        requestId: ctx.requestId,
        clientOrderId: order.clientOrderId,
        strategyId: order.strategyId,
        symbol: order.symbol,
        reasonCode: denial.code,
        details: {
          side: order.side,
          qty: order.qty,
          order_type: order.orderType,
          limit_price: order.limitPrice,
          stop_price: order.stopPrice,
          message: denial.message,
          ...denial.details,
        },
      });
    } catch (err) {
      // The refusal stands either way; refusing is the safe side.
      this.logger.error(`cannot audit the ${denial.code} refusal of ${order.clientOrderId}: ${describe(err)}`);
    }
    throw new DomainError(denial.status === 503 ? 'unavailable' : 'rejected', denial.code, denial.message, {
      client_order_id: order.clientOrderId,
      ...denial.details,
    });
  }
}

function describe(err: unknown): string {
  return err instanceof MarketDataUnavailableError || err instanceof Error ? err.message : String(err);
}
