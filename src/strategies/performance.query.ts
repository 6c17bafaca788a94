import { Inject, Injectable } from '@nestjs/common';
import { Principal } from '../auth/permission';
import { exact, plain } from '../common/decimal';
import { DomainError, FieldProblem, ForbiddenError, InputValidationError } from '../common/domain-error';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock } from '../infra/clock/clock';
import {
  dailyPerformanceOf,
  DayCount,
  daysInRange,
  parseDay,
  PerformanceRow,
  PerformanceTotals,
  utcDate,
} from './domain/performance';
import { StrategyActivityRepository } from './persistence/strategy-activity.repository';
import { isStrategyId } from './strategies.query';
import { StrategyLedger } from './strategy-ledger.service';

export interface PerformanceView {
  start: string;
  end: string;
  strategy_id: string | null;
  days: PerformanceRow[];
  totals: PerformanceTotals;
  /** The account's realized P&L over the range minus the strategies'; null for a key that sees only some strategies or one strategy asked for. */
  unattributed: { realized_pl: string } | null;
  as_of: string;
}

const CACHE_LIMIT = 500;

/** GET /performance/daily (docs/strategies-and-pnl.md#daily-performance), cached per range and scope. */
@Injectable()
export class PerformanceQuery {
  private readonly cache = new Map<string, { at: number; view: PerformanceView }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly activity: StrategyActivityRepository,
    private readonly ledger: StrategyLedger,
    private readonly clock: Clock,
  ) {}

  async daily(
    principal: Principal,
    q: { strategy_id?: string; start?: string; end?: string },
  ): Promise<PerformanceView> {
    const c = this.config.strategies;
    if (!c.performanceDashboard) {
      throw new DomainError(
        'not_found',
        'FEATURE_DISABLED',
        'The performance dashboard is disabled (FEATURE_PERFORMANCE_DASHBOARD=false)',
      );
    }
    const today = utcDate(this.clock.now());
    const problems: FieldProblem[] = [];
    if (q.strategy_id !== undefined && !isStrategyId(q.strategy_id)) {
      problems.push({ field: 'strategy_id', problems: ['must be 1-64 characters of A-Z a-z 0-9 _ . : -'] });
    }
    const end = q.end === undefined ? today : parseDay(q.end);
    if (end === null) problems.push({ field: 'end', problems: ['must be a calendar date YYYY-MM-DD'] });
    const start =
      q.start === undefined && end !== null
        ? utcDate(new Date(Date.parse(`${end}T00:00:00Z`) - 6 * 86_400_000))
        : parseDay(q.start);
    if (start === null) problems.push({ field: 'start', problems: ['must be a calendar date YYYY-MM-DD'] });
    if (start !== null && end !== null) {
      if (start > end) problems.push({ field: 'start', problems: ['must not be after end'] });
      else if (daysInRange(start, end) > c.maxPerformanceDays) {
        problems.push({
          field: 'end',
          problems: [`the range must not exceed ${c.maxPerformanceDays} days (MAX_PERFORMANCE_DAYS)`],
        });
      }
    }
    if (problems.length || start === null || end === null) throw new InputValidationError(problems);
    if (q.strategy_id !== undefined && !principal.canAccessStrategy(q.strategy_id)) {
      throw new ForbiddenError('STRATEGY_FORBIDDEN', `This API key may not see strategy "${q.strategy_id}"`);
    }
    const strategies = q.strategy_id !== undefined ? [q.strategy_id] : principal.strategyScope;
    const key = JSON.stringify([strategies ?? '*', start, end]);
    const nowMs = this.clock.now().getTime();
    const hit = this.cache.get(key);
    if (hit && nowMs - hit.at < c.performanceCacheTtlSeconds * 1000) return hit.view;
    const view = await this.compute(strategies, q.strategy_id ?? null, start, end);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(key, { at: nowMs, view });
    return view;
  }

  private async compute(
    strategies: readonly string[] | undefined,
    strategyId: string | null,
    start: string,
    end: string,
  ): Promise<PerformanceView> {
    const [ledger, stats] = await Promise.all([
      this.ledger.current(),
      this.activity.statsByDay(strategies, start, end),
    ]);
    // Read synchronously: the next refresh extends the ledger in place.
    const figures = ledger.dayFigures(start, end, strategies);
    const orders: DayCount[] = [];
    const rejections: DayCount[] = [];
    let accountTotal = exact('0');
    for (const d of stats) {
      if (d.orders) orders.push({ date: d.date, strategyId: d.strategyId, count: d.orders });
      if (d.rejections) rejections.push({ date: d.date, strategyId: d.strategyId, count: d.rejections });
      accountTotal = accountTotal.plus(d.accountRealizedPl);
    }
    const { days, totals } = dailyPerformanceOf(figures, orders, rejections, start, end);
    // Every strategy's rows were read only when the key sees every strategy and none was asked for.
    const unattributed: PerformanceView['unattributed'] = strategies
      ? null
      : { realized_pl: plain(accountTotal.minus(totals.realized_pl)) };
    return { start, end, strategy_id: strategyId, days, totals, unattributed, as_of: this.clock.now().toISOString() };
  }
}
