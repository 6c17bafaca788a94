/**
 * The sim's live orders, by symbol, and what the open ones hold back from
 * buying power: each symbol's reserve (the opening notional of its open
 * orders) as last summed, summed again only when that symbol's orders (their
 * fills, so its position) or its reference price changed since. A
 * buying-power check then costs one look per symbol rather than a walk of
 * every open order (sim-exchange.ts buyingPower), and a symbol's matching
 * walks that symbol's orders only.
 *
 * Invariant: every change to an order is reported (`touch`), as every change
 * is also marked for the journal; a fill changes its order, so a symbol's
 * position never changes without one.
 */
import { Decimal } from '../../common/decimal';
import type { SimLedger } from './sim-ledger';
import { isLive, isOpen, leavesQty, openingQuantity, type OrderTerms, type SimOrder } from './sim-order';

export class SimLiveOrders {
  /**
   * Live orders (held legs included) by symbol: an ended order never reopens (a replace is a new order), so
   * one found ended is dropped; a held leg stays (it opens when its entry fills).
   */
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

  /** Open orders, of one symbol or of all, in time priority. */
  open(symbol?: string): SimOrder[] {
    const out: SimOrder[] = [];
    for (const s of symbol === undefined ? [...this.live.keys()] : [symbol]) {
      for (const order of this.liveOf(s)) if (isOpen(order)) out.push(order);
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** The opening notional of every open order, `excluding` one (an order being replaced). */
  reserved(excluding?: SimOrder): Decimal {
    let reserved = new Decimal(0);
    for (const symbol of [...this.live.keys()]) reserved = reserved.plus(this.reserveOf(symbol));
    if (excluding !== undefined && isOpen(excluding)) {
      reserved = reserved.minus(this.openingNotional(excluding, leavesQty(excluding)));
    }
    return reserved;
  }

  private reserveOf(symbol: string): Decimal {
    const version = this.versions.get(symbol) ?? 0;
    const price = this.priceOf(symbol);
    const cached = this.sums.get(symbol);
    if (cached && cached.version === version && cached.price.eq(price)) return cached.sum;
    let sum = new Decimal(0);
    for (const order of this.liveOf(symbol))
      if (isOpen(order)) sum = sum.plus(this.openingNotional(order, leavesQty(order)));
    if (this.live.has(symbol)) this.sums.set(symbol, { version, price, sum });
    return sum;
  }

  /** The symbol's live orders, the ended ones found on the way dropped (a symbol left with none goes). */
  private liveOf(symbol: string): SimOrder[] {
    const bySymbol = this.live.get(symbol);
    if (bySymbol === undefined) return [];
    const out: SimOrder[] = [];
    for (const [id, order] of bySymbol) {
      if (isLive(order)) out.push(order);
      else bySymbol.delete(id);
    }
    if (bySymbol.size === 0) {
      this.live.delete(symbol);
      this.sums.delete(symbol);
    }
    return out;
  }
}
