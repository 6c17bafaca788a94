/**
 * P&L per strategy on /metrics (docs/strategies-and-pnl.md#metrics), computed
 * when Prometheus scrapes, from the strategies' books as this replica holds
 * them (extended with the fills since the last read, never replayed for it)
 * and their marks:
 *
 * - execution_gateway_strategy_realized_pl_today: what the strategy's own
 *   book realized today (UTC);
 * - execution_gateway_strategy_unrealized_pl: its open positions marked to
 *   market (positions without a mark count 0).
 *
 * Bounded cardinality: at most STRATEGY_PNL_MAX_SERIES series per gauge; past
 * that, the first strategies by id keep their own series and the rest are
 * summed under `strategy_id="_other"`. The figures are exact decimals until
 * the exposition, which is a float by nature: a gauge is for display and
 * alerting, never for accounting.
 */
import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import type { Gauge } from 'prom-client';
import { Decimal } from '../common/decimal';
import { Clock } from '../infra/clock/clock';
import { GaugeSource } from '../infra/metrics/scrape-gauges';
import { unrealizedPl } from '../positions/domain/position-math';
import { PositionMarks } from '../positions/position-marks.service';
import { utcDate } from './domain/performance';
import { StrategyLedger } from './strategy-ledger.service';

export const STRATEGY_PNL_METRIC = {
  realizedToday: 'execution_gateway_strategy_realized_pl_today',
  unrealized: 'execution_gateway_strategy_unrealized_pl',
} as const;

export const STRATEGY_PNL_MAX_SERIES = 50;
export const OTHER_STRATEGIES = '_other';

export interface StrategyPnlFigures {
  strategyId: string;
  realizedToday: Decimal;
  unrealized: Decimal;
}

/**
 * At most `max` rows: by strategy id; when there are more, the first
 * `max − 1` and one `_other` row with the sums of the rest (so the totals
 * over all series are unchanged).
 */
export function boundedSeries(
  rows: readonly StrategyPnlFigures[],
  max = STRATEGY_PNL_MAX_SERIES,
): StrategyPnlFigures[] {
  const sorted = [...rows].sort((a, b) => (a.strategyId < b.strategyId ? -1 : a.strategyId > b.strategyId ? 1 : 0));
  if (sorted.length <= max) return sorted;
  const kept = sorted.slice(0, max - 1);
  const other: StrategyPnlFigures = {
    strategyId: OTHER_STRATEGIES,
    realizedToday: new Decimal(0),
    unrealized: new Decimal(0),
  };
  for (const r of sorted.slice(max - 1)) {
    other.realizedToday = other.realizedToday.plus(r.realizedToday);
    other.unrealized = other.unrealized.plus(r.unrealized);
  }
  return [...kept, other];
}

export const strategyPnlSource = new GaugeSource<() => Promise<StrategyPnlFigures[]>>();

/** One computation serves both gauges of one scrape. */
let pending: Promise<StrategyPnlFigures[] | null> | null = null;
function readFigures(): Promise<StrategyPnlFigures[] | null> {
  const source = strategyPnlSource.get();
  if (!source) return Promise.resolve(null);
  pending ??= source()
    .then((rows) => boundedSeries(rows))
    .catch(() => null)
    .finally(() => {
      pending = null;
    });
  return pending;
}

function collectInto(
  gauge: Gauge<'strategy_id'>,
  rows: StrategyPnlFigures[] | null,
  pick: (r: StrategyPnlFigures) => Decimal,
): void {
  gauge.reset();
  for (const r of rows ?? []) gauge.set({ strategy_id: r.strategyId }, pick(r).toNumber());
}

export const STRATEGY_PNL_METRIC_PROVIDERS = [
  makeGaugeProvider({
    name: STRATEGY_PNL_METRIC.realizedToday,
    help: `Realized P&L today (UTC) of each strategy's own book, at scrape time; at most ${STRATEGY_PNL_MAX_SERIES} series, the rest summed as strategy_id="${OTHER_STRATEGIES}"`,
    labelNames: ['strategy_id'],
    async collect(this: Gauge<'strategy_id'>) {
      collectInto(this, await readFigures(), (r) => r.realizedToday);
    },
  }),
  makeGaugeProvider({
    name: STRATEGY_PNL_METRIC.unrealized,
    help: `Unrealized P&L of each strategy's open positions marked to market, at scrape time; at most ${STRATEGY_PNL_MAX_SERIES} series, the rest summed as strategy_id="${OTHER_STRATEGIES}"`,
    labelNames: ['strategy_id'],
    async collect(this: Gauge<'strategy_id'>) {
      collectInto(this, await readFigures(), (r) => r.unrealized);
    },
  }),
];

/** Binds the scrape-time source of the P&L gauges while the module runs. */
@Injectable()
export class StrategyPnlMetrics implements OnModuleInit, OnModuleDestroy {
  private unbind: (() => void) | null = null;

  constructor(
    private readonly ledger: StrategyLedger,
    private readonly marks: PositionMarks,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    this.unbind = strategyPnlSource.bind(() => this.figures());
  }

  onModuleDestroy(): void {
    this.unbind?.();
  }

  /** Every strategy with a book: today's realized P&L and the unrealized P&L of its open positions. */
  async figures(): Promise<StrategyPnlFigures[]> {
    const ledger = await this.ledger.current();
    // Read synchronously: the next refresh extends the ledger in place.
    const books = ledger.books();
    const today = utcDate(this.clock.now());
    const realized = new Map<string, Decimal>();
    for (const d of ledger.dayFigures(today, today)) realized.set(d.strategyId, d.realized);
    const open = new Set<string>();
    for (const book of books.values()) for (const [s, p] of book) if (!new Decimal(p.qty).isZero()) open.add(s);
    const marks = await this.marks.marks([...open]);
    const out: StrategyPnlFigures[] = [];
    for (const [strategyId, book] of books) {
      let unrealized = new Decimal(0);
      for (const [symbol, p] of book) {
        const price = marks.get(symbol)?.price;
        if (price && !new Decimal(p.qty).isZero()) unrealized = unrealized.plus(unrealizedPl(p, price));
      }
      out.push({ strategyId, realizedToday: realized.get(strategyId) ?? new Decimal(0), unrealized });
    }
    return out;
  }
}
