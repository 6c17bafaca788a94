/** Configuration of the in-process paper exchange, checked once at construction. */
import { randomUUID } from 'node:crypto';
import { Decimal, normalizeDecimal } from '../../common/decimal';
import type { Clock } from '../../infra/clock/clock';
import type { Scheduler } from '../../infra/clock/scheduler';
import { MAX_VOLATILITY_BPS } from './sim-price-walk';

export interface SimBrokerOptions {
  /** Every timestamp (orders, executions, events) comes from here. */
  clock: Clock;
  /** Latency, fill and stream delivery timers. Default: the system's timers (a test may pass a ManualScheduler). */
  scheduler?: Scheduler;
  /** Reference (last trade) price per symbol; `setPrice` moves them later. */
  referencePrices?: Record<string, string>;
  /** Reference price of a symbol not in `referencePrices`. Default `'100'`. */
  defaultPrice?: string;
  /** Delay before a command (submit, cancel, replace, close) is acted on and answered. Default 0. */
  latencyMs?: number;
  /** Delay between an order becoming marketable (arrival, price move) and its executions. Default 0. */
  fillLatencyMs?: number;
  /** Each fill is split into this many executions (whole shares, never an empty one). Default 1. */
  partialFills?: number;
  /**
   * Shares available at the reference price per match (an order's arrival, or one price move shared
   * by the resting orders in time priority). Per symbol; absent means unlimited.
   */
  liquidity?: Record<string, string>;
  /** Liquidity of a symbol not in `liquidity`; absent means unlimited. */
  defaultLiquidity?: string;
  /** Symbols the broker refuses to trade (422 "not tradable"). */
  rejectSymbols?: string[];
  /** Orders for more shares than this are refused (422). */
  maxQty?: string;
  /** Default `'100000'`. */
  startingCash?: string;
  /** Buying power = equity × multiplier − gross position value − open orders' opening notional. Default `'1'`. */
  buyingPowerMultiplier?: string;
  /** Order, execution and generated client order ids. Default: random UUIDs. */
  idFactory?: () => string;
  /** Default `'sim-account'`. */
  accountId?: string;
  /** The price walk (docs/simulator.md#price-walk). Default: off (volatility 0). */
  priceWalk?: { seed?: string; volatilityBps?: string; stepMs?: number };
  /** The walk's timer. Default: `scheduler` (a test may drive the walk alone with a ManualScheduler). */
  walkScheduler?: Scheduler;
  /**
   * Trading calls allowed in any sliding minute; above it a call is refused as Alpaca's 429 (sim-rate-limit.ts).
   * Absent: no limit.
   */
  rateLimitPerMinute?: number;
  /**
   * Memory bound (docs/simulator.md#memory-and-retention): ended orders (legs
   * counted) and executions kept in memory, the most recent ones. Default
   * SIM_RETAINED_DEFAULT each; at least 10.
   */
  retainedEndedOrders?: number;
  retainedExecutions?: number;
}

/** Ended orders and executions the sim keeps in memory by default (about 5 MB of heap at most). */
export const SIM_RETAINED_DEFAULT = 2000;

export interface ResolvedSimOptions {
  clock: Clock;
  referencePrices: Map<string, Decimal>;
  defaultPrice: Decimal;
  latencyMs: number;
  fillLatencyMs: number;
  partialFills: number;
  liquidity: Map<string, Decimal>;
  defaultLiquidity: Decimal | null;
  rejectSymbols: Set<string>;
  maxQty: Decimal | null;
  startingCash: Decimal;
  buyingPowerMultiplier: Decimal;
  idFactory: () => string;
  accountId: string;
  priceWalk: { seed: string; volatilityBps: Decimal; stepMs: number };
  rateLimitPerMinute: number | null;
  retainedEndedOrders: number;
  retainedExecutions: number;
}

/** A positive decimal string, or a configuration error naming the option. */
export function positiveDecimal(value: string, what: string): Decimal {
  const normalized = normalizeDecimal(value);
  if (normalized === undefined || new Decimal(normalized).lte(0)) {
    throw new RangeError(`${what} must be a positive decimal string, got ${JSON.stringify(value)}`);
  }
  return new Decimal(normalized);
}

export function nonNegativeDecimal(value: string, what: string): Decimal {
  const normalized = normalizeDecimal(value);
  if (normalized === undefined) {
    throw new RangeError(`${what} must be a non-negative decimal string, got ${JSON.stringify(value)}`);
  }
  return new Decimal(normalized);
}

function nonNegativeInteger(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${value}`);
  }
  return value;
}

function retained(value: number | undefined, what: string): number {
  const n = nonNegativeInteger(value ?? SIM_RETAINED_DEFAULT, what);
  if (n < 10) throw new RangeError(`${what} must be at least 10, got ${n}`);
  return n;
}

export function resolveSimOptions(options: SimBrokerOptions): ResolvedSimOptions {
  const partialFills = nonNegativeInteger(options.partialFills ?? 1, 'partialFills');
  if (partialFills < 1) throw new RangeError('partialFills must be at least 1');
  return {
    clock: options.clock,
    referencePrices: new Map(
      Object.entries(options.referencePrices ?? {}).map(([symbol, price]) => [
        symbol,
        positiveDecimal(price, `referencePrices.${symbol}`),
      ]),
    ),
    defaultPrice: positiveDecimal(options.defaultPrice ?? '100', 'defaultPrice'),
    latencyMs: nonNegativeInteger(options.latencyMs ?? 0, 'latencyMs'),
    fillLatencyMs: nonNegativeInteger(options.fillLatencyMs ?? 0, 'fillLatencyMs'),
    partialFills,
    liquidity: new Map(
      Object.entries(options.liquidity ?? {}).map(([symbol, qty]) => [
        symbol,
        nonNegativeDecimal(qty, `liquidity.${symbol}`),
      ]),
    ),
    defaultLiquidity:
      options.defaultLiquidity === undefined ? null : nonNegativeDecimal(options.defaultLiquidity, 'defaultLiquidity'),
    rejectSymbols: new Set(options.rejectSymbols ?? []),
    maxQty: options.maxQty === undefined ? null : positiveDecimal(options.maxQty, 'maxQty'),
    startingCash: nonNegativeDecimal(options.startingCash ?? '100000', 'startingCash'),
    buyingPowerMultiplier: positiveDecimal(options.buyingPowerMultiplier ?? '1', 'buyingPowerMultiplier'),
    idFactory: options.idFactory ?? randomUUID,
    accountId: options.accountId ?? 'sim-account',
    priceWalk: resolvePriceWalk(options.priceWalk ?? {}),
    rateLimitPerMinute: resolveRateLimit(options.rateLimitPerMinute),
    retainedEndedOrders: retained(options.retainedEndedOrders, 'retainedEndedOrders'),
    retainedExecutions: retained(options.retainedExecutions, 'retainedExecutions'),
  };
}

function resolveRateLimit(perMinute: number | undefined): number | null {
  if (perMinute === undefined) return null;
  if (nonNegativeInteger(perMinute, 'rateLimitPerMinute') < 1)
    throw new RangeError('rateLimitPerMinute must be at least 1');
  return perMinute;
}

function resolvePriceWalk(walk: NonNullable<SimBrokerOptions['priceWalk']>): ResolvedSimOptions['priceWalk'] {
  const volatilityBps = nonNegativeDecimal(walk.volatilityBps ?? '0', 'priceWalk.volatilityBps');
  if (volatilityBps.gt(MAX_VOLATILITY_BPS)) {
    throw new RangeError(
      `priceWalk.volatilityBps must be at most ${MAX_VOLATILITY_BPS}, got ${volatilityBps.toFixed()}`,
    );
  }
  const stepMs = nonNegativeInteger(walk.stepMs ?? 1000, 'priceWalk.stepMs');
  if (stepMs < 1) throw new RangeError('priceWalk.stepMs must be at least 1');
  return { seed: walk.seed ?? 'sim', volatilityBps, stepMs };
}
