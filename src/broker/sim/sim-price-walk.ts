/**
 * The sim's price walk: a deterministic random walk per symbol, so a paper
 * session has prices that move (limits fill, stops trigger, P&L changes) and
 * the same seed replays the same path (docs/simulator.md#price-walk).
 *
 * One step: price_{n+1} = walkStep(seed, symbol, n, price_n, volatilityBps).
 * - the shock z is an Irwin–Hall draw (sum of 12 uniforms − 6: mean 0,
 *   σ 1, bounded to ±6) whose uniforms come from SHA-512 of
 *   (seed, symbol, n): no global random state, no binary float;
 * - the move is price × z × volatilityBps / 10 000, so volatilityBps is the
 *   per-step standard deviation in basis points; with at most
 *   MAX_VOLATILITY_BPS a step never loses more than 60 % of the price;
 * - the result is rounded to the tick (0.01 at or above 1, else 0.0001) and
 *   is never below one tick: prices stay positive;
 * - volatility 0 leaves the price exactly as it is (not even rounded).
 */
import { createHash } from 'node:crypto';
import { Decimal } from '../../common/decimal';

/** 10 % per step: the bound that keeps 1 − 6σ positive. */
export const MAX_VOLATILITY_BPS = 1000;

const UNIFORMS = 12;
const TWO_POW_32 = new Decimal(2).pow(32);
const BPS = new Decimal(10_000);
const CENT = new Decimal('0.01');
const SUB_CENT = new Decimal('0.0001');

export interface WalkStepInput {
  seed: string;
  symbol: string;
  /** The step index of this symbol's walk: 0 for the first step from its starting price. */
  step: number;
  price: Decimal;
  /** Per-step σ in basis points, 0..MAX_VOLATILITY_BPS. */
  volatilityBps: Decimal;
}

/** The price grid: cents at or above 1, hundredths of a cent below (as US equities quote). */
export function tickSize(price: Decimal): Decimal {
  return price.gte(1) ? CENT : SUB_CENT;
}

/** Rounds to the price's tick (half-even), never below one tick. */
export function roundToTick(price: Decimal): Decimal {
  const tick = tickSize(price);
  const rounded = price.div(tick).toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN).mul(tick);
  return rounded.lt(SUB_CENT) ? SUB_CENT : rounded;
}

/** The standard shock of one step: Σ 12 uniforms − 6, exactly, from the hash of (seed, symbol, step). */
export function shock(seed: string, symbol: string, step: number): Decimal {
  const digest = createHash('sha512').update(`${seed}\u0000${symbol}\u0000${step}`).digest();
  let sum = new Decimal(0);
  for (let i = 0; i < UNIFORMS; i += 1) sum = sum.plus(digest.readUInt32BE(i * 4));
  return sum.div(TWO_POW_32).minus(UNIFORMS / 2);
}

/** One step of the walk: a pure function of its input. */
export function walkStep(input: WalkStepInput): Decimal {
  if (input.volatilityBps.isZero()) return input.price;
  const z = shock(input.seed, input.symbol, input.step);
  const next = input.price.mul(BPS.plus(z.mul(input.volatilityBps))).div(BPS);
  return roundToTick(next);
}

/** `steps` consecutive steps from `start` (step indices from `fromStep`): the path, start excluded. */
export function walkPath(
  seed: string,
  symbol: string,
  start: Decimal,
  volatilityBps: Decimal,
  steps: number,
  fromStep = 0,
): Decimal[] {
  const path: Decimal[] = [];
  let price = start;
  for (let n = fromStep; n < fromStep + steps; n += 1) {
    price = walkStep({ seed, symbol, step: n, price, volatilityBps });
    path.push(price);
  }
  return path;
}
