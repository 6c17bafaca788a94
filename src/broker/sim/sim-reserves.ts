/**
 * What the sim's open orders hold back from buying power: each symbol's
 * reserve (the opening notional of its open orders) as last summed, summed
 * again only when that symbol's orders (their fills, so its position) or its
 * reference price changed since. A buying-power check then costs one look per
 * symbol rather than a walk of every open order (sim-exchange.ts buyingPower).
 *
 * Invariant: every change to an order is reported (`touch`), as every change
 * is also marked for the journal; a fill changes its order, so a symbol's
 * position never changes without one.
 */
import { Decimal } from '../../common/decimal';
import type { SimLedger } from './sim-ledger';
import { isLive, isOpen, leavesQty, openingQuantity, type OrderTerms, type SimOrder } from './sim-order';

export class SimReserves {
  /** Live orders (held legs included) by symbol; an ended one is dropped when its symbol is summed. */
  private readonly live = new Map<string, Map<string, SimOrder>>();
  private readonly sums = new Map<string, { version: number; price: Decimal; sum: Decimal }>();
  private readonly versions = new Map<string, number>();

  constructor(
    private readonly ledger: SimLedger,
    private readonly priceOf: (symbol: string) => Decimal,
  ) {}

  /** Notional of the part of `qty` that opens or adds exposure, at the price the order would likely pay. */
  openingNotional(terms: OrderTerms, qty: Decimal): Decimal {
    const opening = openingQuantity(terms.side, qty, this.ledger.positionQty(terms.symbol));
    if (opening.isZero()) return opening;
    const reference = this.priceOf(terms.symbol);
    const price = terms.limitPrice ?? (terms.stopPrice !== null ? Decimal.max(terms.stopPrice, reference) : reference);
    return opening.mul(price);
  }

  add(order: SimOrder): void {
    let bySymbol = this.live.get(order.symbol);
    if (bySymbol === undefined) this.live.set(order.symbol, (bySymbol = new Map()));
    bySymbol.set(order.id, order);
    this.touch(order);
  }

  remove(order: SimOrder): void {
    this.live.get(order.symbol)?.delete(order.id);
    this.touch(order);
  }

  touch(order: SimOrder): void {
    this.versions.set(order.symbol, (this.versions.get(order.symbol) ?? 0) + 1);
  }

  /** The opening notional of every open order, `excluding` one (an order being replaced). */
  total(excluding?: SimOrder): Decimal {
    let reserved = new Decimal(0);
    for (const symbol of [...this.live.keys()]) reserved = reserved.plus(this.of(symbol));
    if (excluding !== undefined && isOpen(excluding)) {
      reserved = reserved.minus(this.openingNotional(excluding, leavesQty(excluding)));
    }
    return reserved;
  }

  private of(symbol: string): Decimal {
    const version = this.versions.get(symbol) ?? 0;
    const price = this.priceOf(symbol);
    const cached = this.sums.get(symbol);
    if (cached && cached.version === version && cached.price.eq(price)) return cached.sum;
    const live = this.live.get(symbol)!;
    let sum = new Decimal(0);
    for (const [id, order] of live) {
      if (isOpen(order)) sum = sum.plus(this.openingNotional(order, leavesQty(order)));
      else if (!isLive(order)) live.delete(id);
    }
    if (live.size === 0) {
      this.live.delete(symbol);
      this.sums.delete(symbol);
    } else this.sums.set(symbol, { version, price, sum });
    return sum;
  }
}
