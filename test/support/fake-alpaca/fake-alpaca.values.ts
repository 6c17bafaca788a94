/**
 * Small pieces shared by the fake broker's books (fake-alpaca.exchange.ts,
 * fake-alpaca.order-book.ts, fake-alpaca.ledger.ts): decimal parsing and
 * formatting, timestamp parsing, copies that leave the books untouched, and the
 * one counter every deterministic id (order, execution, activity) is drawn from.
 */
import { Decimal } from '../../../src/common/decimal';
import { TERMINAL_STATUSES, type WireOrder, type WireTradeUpdate } from './fake-alpaca.wire';

export interface ExchangeHooks {
  now(): Date;
  emit(update: WireTradeUpdate): void;
  /** Runs `fn` later (after the HTTP answer has been written); the server tracks it for `whenIdle()`. */
  schedule(fn: () => void, delayMs: number): void;
}

export const STARTING_CASH = '100000';
/** Kind tag of the client_order_id the fake makes up when a request brings none. */
export const GENERATED_CLIENT_ORDER_ID_KIND = 0x0c1d;

const DECIMAL_TEXT = /^-?\d+(\.\d+)?$/;

/** A normalized decimal string, at most 9 places. */
export function dec(value: Decimal): string {
  return value.toDecimalPlaces(9).toFixed();
}

/** A decimal given as a string or JSON number; undefined when absent or malformed. */
export function parseDecimal(input: unknown): Decimal | undefined {
  if (typeof input === 'string' && DECIMAL_TEXT.test(input.trim())) return new Decimal(input.trim());
  if (typeof input === 'number' && Number.isFinite(input)) return new Decimal(String(input));
  return undefined;
}

/** undefined = absent, null = malformed. */
export function parseTime(text: string | null): Date | undefined | null {
  if (text === null || text === '') return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms);
}

export function isOpen(order: WireOrder): boolean {
  return !TERMINAL_STATUSES.has(order.status);
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** The exchange-wide counter: orders and executions draw from it, so ids follow the order of events. */
export class Sequence {
  private n = 0;

  /** The next number, consumed. */
  next(): number {
    return ++this.n;
  }

  /** The number next() would return, not consumed. */
  peek(): number {
    return this.n + 1;
  }

  reset(): void {
    this.n = 0;
  }
}
