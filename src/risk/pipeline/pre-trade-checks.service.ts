import { Inject, Injectable, Logger } from '@nestjs/common';
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
import { PreTradeSwitch } from './pre-trade-switch';
import { CheckResult, Denial } from './pre-trade-check';
import {
  checkCircuitBreaker,
  checkKillSwitch,
  checkReconciliationGate,
  checkRiskLimits,
  ExposureGuard,
  exposureGuard,
  checkStrategyState,
  ExposureSnapshot,
  firstDenial,
  isReduceOnly,
  OrderIntent,
  referencePrice,
  RiskInputs,
  RiskLimits,
} from './pre-trade-checks';
import {
  CircuitBreakerSource,
  DailyPnlSource,
  FatFingerSource,
  MarketInputs,
  ReconciliationGateSource,
  StrategyStateGate,
} from './pre-trade-sources';

/** What the checks read besides the exposure: gathered before any transaction opens (it may be slow). */
export interface PreTradeInputs {
  market: MarketInputs;
  equity: string | null;
  dailyPnl: string | null;
}

/**
 * The pre-trade checks as the order-entry door uses them (docs/risk-and-safety.md):
 * kill switch, circuit breaker, strategy state, reconciliation gate and quarantines,
 * fat-finger, risk limits, in that order; the first refusal is the answer.
 *
 * Risk owns the rules and reads the safety states; the caller owns the
 * transaction: it gathers the slow inputs first (`gather`), then reads the
 * exposure under its locks and asks `decide`, a synchronous verdict over the
 * in-memory safety states and the pure checks. Nothing here writes an order.
 */
@Injectable()
export class PreTradeChecks {
  private readonly logger = new Logger('PreTrade');
  private readonly limits: RiskLimits;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly killSwitch: KillSwitchService,
    private readonly breaker: CircuitBreakerSource,
    private readonly gate: ReconciliationGateSource,
    private readonly fatFinger: FatFingerSource,
    private readonly dailyPnl: DailyPnlSource,
    @Inject(MARKET_DATA) private readonly marketData: MarketDataProvider,
    private readonly equity: AccountEquityService,
    private readonly audit: AuditRepository,
    private readonly metrics: GatewayMetrics,
    private readonly clock: Clock,
    private readonly checks: PreTradeSwitch,
    private readonly strategies: StrategyStateGate,
  ) {
    const r = config.riskLimits;
    this.limits = {
      maxPositionSize: r.maxPositionSize,
      maxPositionPct: r.maxPositionPct,
      dailyLossLimit: r.dailyLossLimit,
      maxOpenOrdersPerStrategy: r.maxOpenOrdersPerStrategy,
    };
  }

  /** MAX_OPEN_ORDERS_PER_STRATEGY: held at commit by the exposure counters (the door passes it on). */
  get maxOpenOrdersPerStrategy(): number {
    return this.limits.maxOpenOrdersPerStrategy;
  }

  /** False only in the benchmark's unchecked build. */
  get enabled(): boolean {
    return this.checks.enabled;
  }

  /** The kill switch, from memory: refuses before anything is read. */
  early(): CheckResult {
    return checkKillSwitch(this.killSwitch.current());
  }

  /** Market data, equity and today's P&L: read before the transaction, never inside it. */
  async gather(intent: OrderIntent): Promise<PreTradeInputs> {
    const [market, equity, dailyPnl] = await Promise.all([
      this.market(intent),
      this.equity.equity(),
      this.dailyPnl.total().catch(() => null),
    ]);
    return { market, equity, dailyPnl };
  }

  /** The verdict for `intent` against `exposure` (read under the caller's locks); null admits it. */
  decide(intent: OrderIntent, inputs: PreTradeInputs, exposure: ExposureSnapshot): CheckResult {
    return this.verdict(intent, inputs, exposure, isReduceOnly(intent, exposure));
  }

  /**
   * The guard under which `intent` is admitted without its symbol's lock (ExposureGuard): when it passes
   * every check against the committed `exposure` judged as an order that adds exposure (no reduce-only
   * exemption). Null when it does not: it is then judged under the lock, where a refusal is final.
   */
  guard(intent: OrderIntent, inputs: PreTradeInputs, exposure: ExposureSnapshot): ExposureGuard | null {
    if (this.verdict(intent, inputs, exposure, false)) return null;
    return exposureGuard(this.riskInputs(intent, inputs, exposure, false));
  }

  private verdict(
    intent: OrderIntent,
    inputs: PreTradeInputs,
    exposure: ExposureSnapshot,
    reduceOnly: boolean,
  ): CheckResult {
    return firstDenial([
      () => checkKillSwitch(this.killSwitch.current()),
      () => checkCircuitBreaker(this.breaker.current(), reduceOnly),
      () => checkStrategyState(intent.strategyId, this.strategies.current(intent.strategyId), reduceOnly),
      () => checkReconciliationGate(this.gate.current(), intent.symbol, reduceOnly),
      () => this.fatFinger.check(intent, inputs.market, this.clock.now()),
      () => checkRiskLimits(this.riskInputs(intent, inputs, exposure, reduceOnly)),
    ]);
  }

  private riskInputs(
    intent: OrderIntent,
    inputs: PreTradeInputs,
    exposure: ExposureSnapshot,
    reduceOnly: boolean,
  ): RiskInputs {
    return {
      order: intent,
      exposure,
      reduceOnly,
      referencePrice: referencePrice(intent, inputs.market.price?.price ?? null),
      equity: inputs.equity,
      dailyPnl: inputs.dailyPnl,
      limits: this.limits,
    };
  }

  /** Records a refusal (metric and `order.rejected` audit row) and answers the error to throw. */
  async refusal(order: NewOrder, ctx: ActorContext, denial: Denial): Promise<DomainError> {
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
    return new DomainError(denial.status === 503 ? 'unavailable' : 'rejected', denial.code, denial.message, {
      client_order_id: order.clientOrderId,
      ...denial.details,
    });
  }

  private async market(order: OrderIntent): Promise<MarketInputs> {
    // A trailing stop has no price of its own: it is judged at the market, as a market order.
    const needsPrice = order.orderType === 'market' || order.orderType === 'trailing_stop';
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
}

function describe(err: unknown): string {
  return err instanceof MarketDataUnavailableError || err instanceof Error ? err.message : String(err);
}
