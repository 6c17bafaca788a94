import { Provider } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Clock } from '../../infra/clock/clock';
import { DailyPnlService } from '../../positions/daily-pnl.service';
import { CircuitBreakerService } from '../circuit-breaker/circuit-breaker.service';
import { effectiveThresholds } from '../fat-finger/fat-finger-thresholds';
import { FatFingerThresholdsService } from '../fat-finger/fat-finger-thresholds.service';
import { checkFatFinger } from '../fat-finger/fat-finger.check';
import { AccountEquityService } from './account-equity.service';
import { CheckResult, gateDenial } from './pre-trade-check';
import { OrderIntent } from './pre-trade-checks';
import { PreTradeSwitch } from './pre-trade-switch';
import {
  CircuitBreakerSource,
  DailyPnlSource,
  FatFingerSource,
  MarketInputs,
  StrategyStateGate,
} from './pre-trade-sources';

const tradeDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * The sources the pre-trade checks read, bound to the risk services that own
 * them. The reconciliation gate is bound where the checks are provided
 * (order-entry/), above the reconciliation module.
 */
export const PIPELINE_PROVIDERS: Provider[] = [
  AccountEquityService,
  PreTradeSwitch,
  StrategyStateGate,
  { provide: CircuitBreakerSource, useExisting: CircuitBreakerService },
  {
    provide: FatFingerSource,
    inject: [FatFingerThresholdsService],
    useFactory: (thresholds: FatFingerThresholdsService): FatFingerSource => ({
      check(order: OrderIntent, market: MarketInputs, now: Date): CheckResult {
        const current = thresholds.current();
        if (!current.readable) {
          return gateDenial(
            'SAFETY_STATE_UNAVAILABLE',
            'Fat-finger thresholds cannot be read: orders are refused until they can',
            { state: 'fat_finger_thresholds' },
          );
        }
        return checkFatFinger(order, effectiveThresholds(current.thresholds, order.symbol), market, now);
      },
    }),
  },
  {
    provide: DailyPnlSource,
    inject: [DailyPnlService, APP_CONFIG, Clock],
    useFactory: (pnl: DailyPnlService, config: AppConfig, clock: Clock): DailyPnlSource => {
      // The figure every replica refreshes each check interval; older than three intervals, it is
      // computed afresh (one computation at a time), and when that fails it is unknown.
      const maxAgeMs = 3 * config.circuitBreaker.checkIntervalSeconds * 1000 + 1000;
      let computing: Promise<string | null> | undefined;
      return {
        total(): Promise<string | null> {
          const latest = pnl.latest();
          const now = clock.now().getTime();
          if (latest && now - latest.computedAt.getTime() <= maxAgeMs && latest.tradeDate === tradeDate(now)) {
            return Promise.resolve(latest.total);
          }
          computing ??= pnl
            .compute()
            .then(
              (fresh) => fresh.total,
              () => null,
            )
            .finally(() => {
              computing = undefined;
            });
          return computing;
        },
      };
    },
  },
];
