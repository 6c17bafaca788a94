/**
 * The pure checks of the pre-trade pipeline (docs/risk-and-safety.md#the-pre-trade-pipeline, docs/risk-and-safety.md#reason-codes-and-status-codes), in the
 * order they run: kill switch, circuit breaker, strategy state, reconciliation gate (and
 * quarantined symbols), fat-finger (src/risk/fat-finger), risk limits. Each
 * answers allow (null) or a Denial; the first denial is the answer.
 *
 * Invariants:
 * - an order that only reduces the position, never past flat, counting the
 *   open orders already working on its side and the resting exit legs of
 *   orders with legs on that side (when they were read), is "reduce-only";
 *   legs never count as exposure otherwise (projections, limits);
 * - the kill switch refuses every new order, and refuses every new order when
 *   its state is unreadable (a halt must not leak);
 * - a halted strategy's new orders are all refused, a reducing strategy's
 *   pass only when reduce-only; an unreadable strategy state refuses every
 *   new order (a halt must not leak);
 * - the circuit breaker, the reconciliation gate and quarantined symbols
 *   refuse orders that add exposure; reduce-only orders pass them; an
 *   unreadable state refuses exposure (fail closed, docs/risk-and-safety.md#fail-closed);
 * - position limits compare the position plus the open orders on the same
 *   side plus this order with the limit: strictly above is refused, equal
 *   passes; reduce-only orders are exempt (docs/risk-and-safety.md#risk-limits);
 * - a limit whose inputs cannot be read (equity, daily P&L) refuses exposure
 *   with SAFETY_STATE_UNAVAILABLE rather than passing blind.
 */
import Decimal from 'decimal.js';
import { OrderTerms } from '../../trading/order';
import { CheckResult, Denial, gateDenial, limitDenial } from './pre-trade-check';

/** Local exposure in one symbol and one strategy, as it stood before the order (judged under the counters' row locks). */
export interface ExposureSnapshot {
  /** Signed position in shares: long > 0, short < 0. */
  positionQty: string;
  /** Unfilled shares of open buy / sell orders in the symbol (all strategies). */
  openBuyQty: string;
  openSellQty: string;
  /** Open orders of the order's strategy. */
  strategyOpenOrders: number;
  /**
   * What the resting exit legs of orders with legs (bracket, oto, oco) can still take off the position on each
   * side, one quantity per order (src/trading/exit-legs.ts). The counters leave legs out; these are read only
   * where an order could be reduce-only (absent: not read, 0), and only the reduce-only judgement counts them.
   */
  exitLegBuyQty?: string;
  exitLegSellQty?: string;
}

export type OrderIntent = Pick<OrderTerms, 'symbol' | 'side' | 'qty' | 'orderType' | 'limitPrice' | 'stopPrice'> & {
  strategyId: string;
};

/**
 * The exposure as it stood just before `order` was counted, from the symbol's
 * counters that already count it (read under the lock its insert took): what
 * the checks judge. The order is open and unfilled, so it adds its quantity on
 * its side. (Its strategy's open-order count is taken at commit, so the
 * count read does not include it.)
 */
export function exposureBefore(order: Pick<OrderIntent, 'side' | 'qty'>, held: ExposureSnapshot): ExposureSnapshot {
  return {
    ...held,
    openBuyQty: order.side === 'buy' ? new Decimal(held.openBuyQty).minus(order.qty).toFixed() : held.openBuyQty,
    openSellQty: order.side === 'sell' ? new Decimal(held.openSellQty).minus(order.qty).toFixed() : held.openSellQty,
  };
}

/** The symbol's exposure once `order` is counted (the inverse of exposureBefore). */
export function exposureWith(order: Pick<OrderIntent, 'side' | 'qty'>, before: ExposureSnapshot): ExposureSnapshot {
  return {
    ...before,
    openBuyQty: order.side === 'buy' ? new Decimal(before.openBuyQty).plus(order.qty).toFixed() : before.openBuyQty,
    openSellQty: order.side === 'sell' ? new Decimal(before.openSellQty).plus(order.qty).toFixed() : before.openSellQty,
  };
}

/** The strategy already has `openOrders` open orders and the limit is `limit`: the order is refused. */
export function openOrdersDenial(strategyId: string, openOrders: number, limit: number): Denial {
  return limitDenial('MAX_OPEN_ORDERS', `Strategy ${strategyId} has ${openOrders} open orders; the limit is ${limit}`, {
    limit,
    open_orders: openOrders,
  });
}

/**
 * Sell when long, buy when short, never past flat, counting what is already working on that side: its open
 * orders and, when read, the resting exit legs on it. Counting the legs only ever turns a yes into a no.
 */
export function isReduceOnly(order: Pick<OrderIntent, 'side' | 'qty'>, exposure: ExposureSnapshot): boolean {
  const position = new Decimal(exposure.positionQty);
  const qty = new Decimal(order.qty);
  const reaches = qty.plus(workingOn(order.side, exposure));
  return order.side === 'sell'
    ? position.gt(0) && reaches.lte(position)
    : position.lt(0) && reaches.lte(position.neg());
}

/** What is already working on `side` toward flat: its open orders and the resting exit legs read on it. */
export function workingOn(side: 'buy' | 'sell', exposure: ExposureSnapshot): Decimal {
  return side === 'sell'
    ? new Decimal(exposure.openSellQty).plus(exposure.exitLegSellQty ?? 0)
    : new Decimal(exposure.openBuyQty).plus(exposure.exitLegBuyQty ?? 0);
}

/** The signed position if every open order on this side and this order filled. */
export function projectedPosition(order: Pick<OrderIntent, 'side' | 'qty'>, exposure: ExposureSnapshot): Decimal {
  const position = new Decimal(exposure.positionQty);
  return order.side === 'buy'
    ? position.plus(exposure.openBuyQty).plus(order.qty)
    : position.minus(exposure.openSellQty).minus(order.qty);
}

export interface KillSwitchView {
  readable: boolean;
  engaged: boolean;
  reason: string | null;
  engagedAt: Date | null;
  engagedBy: string | null;
}

export function checkKillSwitch(ks: KillSwitchView): CheckResult {
  if (!ks.readable) {
    return gateDenial(
      'SAFETY_STATE_UNAVAILABLE',
      'Kill-switch state cannot be read: new orders are refused until it can (cancels still pass)',
      { state: 'kill_switch' },
    );
  }
  if (!ks.engaged) return null;
  return gateDenial('KILL_SWITCH_ENGAGED', `Kill switch engaged: ${ks.reason ?? 'no reason given'}`, {
    engaged_at: ks.engagedAt?.toISOString() ?? null,
    engaged_by: ks.engagedBy,
  });
}

export interface CircuitBreakerView {
  readable: boolean;
  tripped: boolean;
  reasonCode: string | null;
  reason: string | null;
  trippedAt: Date | null;
  trippedBy: string | null;
}

export function checkCircuitBreaker(cb: CircuitBreakerView, reduceOnly: boolean): CheckResult {
  if (reduceOnly) return null;
  if (!cb.readable) {
    return gateDenial(
      'SAFETY_STATE_UNAVAILABLE',
      'Circuit-breaker state cannot be read: orders that add exposure are refused until it can',
      { state: 'circuit_breaker' },
    );
  }
  if (!cb.tripped) return null;
  return gateDenial(
    'CIRCUIT_BREAKER_TRIPPED',
    `Circuit breaker tripped (${cb.reasonCode ?? 'MANUAL'}): ${cb.reason ?? 'no reason given'}; only orders that reduce a position pass until an operator resets it`,
    { reason_code: cb.reasonCode, tripped_at: cb.trippedAt?.toISOString() ?? null, tripped_by: cb.trippedBy },
  );
}

export interface ReconciliationGateView {
  readable: boolean;
  open: boolean;
  reason: string | null;
  blockedSymbols: ReadonlyMap<string, { code: string; reason: string }>;
}

/** The startup gate, then the symbol's quarantine. Reduce-only orders pass both. */
export interface StrategyStateView {
  readable: boolean;
  state: 'active' | 'reducing' | 'halted';
  reason: string | null;
  changedAt: Date | null;
  changedBy: string | null;
}

export function checkStrategyState(strategyId: string, s: StrategyStateView, reduceOnly: boolean): CheckResult {
  if (!s.readable) {
    return gateDenial(
      'SAFETY_STATE_UNAVAILABLE',
      'Strategy states cannot be read: new orders are refused until they can (cancels still pass)',
      { state: 'strategy_state', strategy_id: strategyId },
    );
  }
  const details = {
    strategy_id: strategyId,
    reason: s.reason,
    changed_at: s.changedAt?.toISOString() ?? null,
    changed_by: s.changedBy,
  };
  if (s.state === 'halted') {
    return gateDenial(
      'STRATEGY_HALTED',
      `Strategy ${strategyId} is halted (${s.reason ?? 'no reason given'}): its new orders are refused until an operator sets it active`,
      details,
    );
  }
  if (s.state === 'reducing' && !reduceOnly) {
    return gateDenial(
      'STRATEGY_REDUCING',
      `Strategy ${strategyId} is reducing (${s.reason ?? 'no reason given'}): only orders that reduce a position pass`,
      details,
    );
  }
  return null;
}

export function checkReconciliationGate(
  gate: ReconciliationGateView,
  symbol: string,
  reduceOnly: boolean,
): CheckResult {
  if (reduceOnly) return null;
  if (!gate.readable) {
    return gateDenial(
      'SAFETY_STATE_UNAVAILABLE',
      'Reconciliation state cannot be read: orders that add exposure are refused until it can',
      { state: 'reconciliation' },
    );
  }
  if (!gate.open) {
    return gateDenial(
      'RECONCILIATION_GATE_REDUCE_ONLY',
      `Reconciliation with the broker has not completed since start${gate.reason ? ` (${gate.reason})` : ''}: ` +
        'only orders that reduce a position pass (an operator may force-complete it)',
    );
  }
  const block = gate.blockedSymbols.get(symbol);
  if (block) {
    return gateDenial(
      'SYMBOL_QUARANTINED',
      `${symbol} is quarantined by reconciliation: ${block.reason}; only orders that reduce the position pass until an operator acknowledges it`,
      { symbol, cause: block.code },
    );
  }
  return null;
}

export interface RiskLimits {
  maxPositionSize: string;
  maxPositionPct: string;
  dailyLossLimit: string;
  maxOpenOrdersPerStrategy: number;
}

export interface RiskInputs {
  order: OrderIntent;
  exposure: ExposureSnapshot;
  reduceOnly: boolean;
  /** The price the order's notional is reckoned at (limit/stop price, else market); null when unknown. */
  referencePrice: string | null;
  /** Account equity; null when it cannot be read. */
  equity: string | null;
  /** Today's realized + unrealized P&L; null when it cannot be read. */
  dailyPnl: string | null;
  limits: RiskLimits;
}

/** Risk limits in the documented order (docs/risk-and-safety.md#risk-limits): position size, position % of equity, daily loss, open orders. */
export function checkRiskLimits(r: RiskInputs): CheckResult {
  const { order, exposure, limits } = r;
  if (!r.reduceOnly) {
    const projected = projectedPosition(order, exposure);
    const size = projected.abs();
    if (size.gt(limits.maxPositionSize)) {
      return limitDenial(
        'MAX_POSITION_SIZE',
        `${order.symbol} position would reach ${size.toFixed()} shares with this order and the open ${order.side} orders; the limit is ${limits.maxPositionSize}`,
        {
          limit: limits.maxPositionSize,
          projected_position: projected.toFixed(),
          position: exposure.positionQty,
          open_same_side: order.side === 'buy' ? exposure.openBuyQty : exposure.openSellQty,
        },
      );
    }
    if (r.referencePrice !== null) {
      if (r.equity === null) {
        return gateDenial(
          'SAFETY_STATE_UNAVAILABLE',
          'Account equity cannot be read, so the position limit as a share of equity cannot be checked: orders that add exposure are refused until it can',
          { state: 'account_equity' },
        );
      }
      const equity = new Decimal(r.equity);
      const value = size.times(r.referencePrice);
      const limitValue = equity.times(limits.maxPositionPct);
      if (equity.lte(0) || value.gt(limitValue)) {
        return limitDenial(
          'MAX_POSITION_PCT',
          `${order.symbol} position would be worth ${value.toFixed(2)}, above ${new Decimal(limits.maxPositionPct).times(100).toFixed()} % of equity ${equity.toFixed(2)}`,
          {
            limit_pct: limits.maxPositionPct,
            equity: equity.toFixed(),
            projected_value: value.toFixed(),
            price: r.referencePrice,
          },
        );
      }
    }
    if (r.dailyPnl === null) {
      return gateDenial(
        'SAFETY_STATE_UNAVAILABLE',
        "Today's P&L cannot be computed, so the daily loss limit cannot be checked: orders that add exposure are refused until it can",
        { state: 'daily_pnl' },
      );
    }
    if (new Decimal(r.dailyPnl).lte(new Decimal(limits.dailyLossLimit).neg())) {
      return limitDenial(
        'DAILY_LOSS_LIMIT',
        `Today's P&L ${new Decimal(r.dailyPnl).toFixed(2)} has reached the daily loss limit of ${limits.dailyLossLimit}: only orders that reduce a position pass`,
        { limit: limits.dailyLossLimit, daily_pnl: r.dailyPnl },
      );
    }
  }
  if (exposure.strategyOpenOrders >= limits.maxOpenOrdersPerStrategy) {
    return openOrdersDenial(order.strategyId, exposure.strategyOpenOrders, limits.maxOpenOrdersPerStrategy);
  }
  return null;
}

/** The price an order's notional is reckoned at: its limit, else its stop, else the market. */
export function referencePrice(order: OrderIntent, marketPrice: string | null): string | null {
  if (order.orderType === 'limit' || order.orderType === 'stop_limit') return order.limitPrice;
  if (order.orderType === 'stop') return order.stopPrice;
  return marketPrice;
}

/** Runs the checks in order; the first denial wins. */
export function firstDenial(checks: ReadonlyArray<() => CheckResult>): CheckResult {
  for (const check of checks) {
    const denial = check();
    if (denial) return denial;
  }
  return null;
}

/**
 * What an order admitted against the committed counters (not locked) needs of
 * its symbol's counters once it is counted to stay admitted: its reach at
 * most `maxSize` shares and, when `price` is set, worth at most `limitValue`.
 * The reach bounds the size of the position the limits project, both ways:
 * the position with every open order on the order's side (this order
 * counted), and the other way the position with this order alone.
 * Checked by the insert's trigger on the row it holds (migration 1765700000000).
 */
export interface ExposureGuard {
  maxSize: string;
  price: string | null;
  limitValue: string | null;
}

/**
 * The guard for `r.order`, admitted by `checkRiskLimits` against `r.exposure`
 * judged as an order that adds exposure (not reduce-only: no exemption); null
 * when the priced limit needs the equity and it is unknown.
 *
 * Sound whatever the counters became before the insert: the position the
 * limits project lies between the position with this order alone and the
 * position with every open order on the order's side (replacements paired or
 * not, the paired count never above the counters), so its size is at most
 * the reach; where the
 * guard admits, the order passes the limits as one that adds exposure, and
 * so passes them whether or not it is reduce-only there (being reduce-only
 * only exempts). The strategy's open orders are held to their limit at commit.
 */
export function exposureGuard(r: RiskInputs): ExposureGuard | null {
  if (r.referencePrice === null) return { maxSize: r.limits.maxPositionSize, price: null, limitValue: null };
  if (r.equity === null) return null;
  return {
    maxSize: r.limits.maxPositionSize,
    price: r.referencePrice,
    limitValue: new Decimal(r.equity).times(r.limits.maxPositionPct).toFixed(),
  };
}

/** The guard as the insert sets it for its transaction (`exposure.guard`): `max_size|price|limit_value`. */
export function guardSetting(guard: ExposureGuard): string {
  return `${guard.maxSize}|${guard.price ?? ''}|${guard.limitValue ?? ''}`;
}

/** Whether the counters `after` (the order counted) meet `guard`: what the insert's trigger computes. */
export function guardAdmits(
  guard: ExposureGuard,
  order: Pick<OrderIntent, 'side' | 'qty'>,
  after: Pick<ExposureSnapshot, 'positionQty' | 'openBuyQty' | 'openSellQty'>,
): boolean {
  const position = new Decimal(after.positionQty);
  const reach =
    order.side === 'buy'
      ? Decimal.max(position.plus(after.openBuyQty), position.plus(order.qty).neg())
      : Decimal.max(new Decimal(after.openSellQty).minus(position), position.minus(order.qty));
  if (reach.gt(guard.maxSize)) return false;
  return guard.price === null || guard.limitValue === null || reach.times(guard.price).lte(guard.limitValue);
}
