/**
 * The fat-finger check (docs/risk-and-safety.md#the-pre-trade-pipeline, docs/risk-and-safety.md#fat-finger, docs/risk-and-safety.md#reason-codes-and-status-codes): a pure
 * function from an order, the thresholds for its symbol and what is known of
 * the market to allow (null) or the first refusal.
 *
 * Sub-checks, in order; a value strictly above its limit is refused, equal
 * passes:
 * 1. FAT_FINGER_MAX_QTY: qty > max_qty.
 * 2. The notional's price: the limit price for limit and stop-limit orders,
 *    the stop price for stop orders, the market price for market orders (and
 *    for any order missing the price its type implies). A market price that
 *    is missing is PRICE_UNAVAILABLE; one older than max_price_age_seconds is
 *    PRICE_STALE. An order's own price needs no market data.
 * 3. FAT_FINGER_MAX_NOTIONAL: qty × price > max_notional.
 * 4. FAT_FINGER_MAX_ADV_PCT: qty > max_adv_pct × ADV. Without an ADV (none
 *    published for many instruments, or the source is down) this sub-check
 *    passes: the quantity and notional limits above still bound the order.
 *    A known ADV of zero refuses every order.
 *
 * Denial details carry the figures as strings (decimals) so the refusal can
 * be audited and acted on.
 */
import { Decimal, exact, plain } from '../../common/decimal';
import type { AverageDailyVolume, PriceObservation } from '../../market-data/market-data.port';
import { CheckResult, limitDenial } from '../pipeline/pre-trade-check';
import type { EffectiveThresholds } from './fat-finger-thresholds';

export type FatFingerOrderType = 'market' | 'limit' | 'stop' | 'stop_limit' | 'trailing_stop';

export interface FatFingerOrder {
  symbol: string;
  side: string;
  /** Whole shares, decimal string. */
  qty: string;
  orderType: FatFingerOrderType;
  limitPrice?: string | null;
  stopPrice?: string | null;
}

export interface FatFingerMarket {
  price: PriceObservation | null;
  /** Why no price is known, when the source failed (rather than having none). */
  priceError?: string;
  adv: AverageDailyVolume | null;
}

/** The price the notional is computed with, and where it comes from. */
export function notionalPrice(order: FatFingerOrder): { price: string; source: 'limit_price' | 'stop_price' } | null {
  if ((order.orderType === 'limit' || order.orderType === 'stop_limit') && order.limitPrice) {
    return { price: order.limitPrice, source: 'limit_price' };
  }
  if (order.orderType === 'stop' && order.stopPrice) return { price: order.stopPrice, source: 'stop_price' };
  return null;
}

export function checkFatFinger(
  order: FatFingerOrder,
  thresholds: EffectiveThresholds,
  market: FatFingerMarket,
  now: Date,
): CheckResult {
  const symbol = order.symbol;
  const qty = exact(order.qty);

  const maxQty = exact(thresholds.maxQty);
  if (qty.gt(maxQty)) {
    return limitDenial(
      'FAT_FINGER_MAX_QTY',
      `qty ${plain(qty)} exceeds the maximum of ${plain(maxQty)} for ${symbol}`,
      {
        limit: plain(maxQty),
        value: plain(qty),
      },
    );
  }

  let price: Decimal;
  let priceDetails: Record<string, string>;
  const own = notionalPrice(order);
  if (own) {
    price = exact(own.price);
    priceDetails = { price: plain(price), price_source: own.source };
  } else {
    const observed = market.price;
    if (!observed) {
      return limitDenial(
        'PRICE_UNAVAILABLE',
        `no market price for ${symbol}; a market order's notional cannot be computed` +
          (market.priceError ? ` (${market.priceError})` : ''),
        market.priceError ? { reason: market.priceError } : undefined,
      );
    }
    // A timestamp ahead of this clock (skew) counts as fresh, not as negative age.
    const ageMs = Math.max(0, now.getTime() - observed.timestamp.getTime());
    const age = exact(String(ageMs)).div(1000);
    const maxAge = thresholds.maxPriceAgeSeconds;
    if (age.gt(maxAge)) {
      return limitDenial(
        'PRICE_STALE',
        `the last market price for ${symbol} is ${plain(age)} s old, older than the ${maxAge} s allowed; a market order's notional cannot be computed`,
        {
          price: plain(exact(observed.price)),
          price_time: observed.timestamp.toISOString(),
          price_age_seconds: plain(age),
          limit: String(maxAge),
        },
      );
    }
    price = exact(observed.price);
    priceDetails = {
      price: plain(price),
      price_source: `market_${observed.source}`,
      price_age_seconds: plain(age),
    };
  }

  const notional = qty.times(price);
  const maxNotional = exact(thresholds.maxNotional);
  if (notional.gt(maxNotional)) {
    return limitDenial(
      'FAT_FINGER_MAX_NOTIONAL',
      `notional ${plain(notional)} (${plain(qty)} × ${plain(price)}) exceeds the maximum of ${plain(maxNotional)} for ${symbol}`,
      { limit: plain(maxNotional), value: plain(notional), qty: plain(qty), ...priceDetails },
    );
  }

  if (market.adv) {
    const adv = exact(market.adv.adv);
    const maxAdvPct = exact(thresholds.maxAdvPct);
    const allowed = maxAdvPct.times(adv);
    if (qty.gt(allowed)) {
      return limitDenial(
        'FAT_FINGER_MAX_ADV_PCT',
        `qty ${plain(qty)} exceeds ${plain(maxAdvPct.times(100))} % of the average daily volume of ${symbol} (${plain(adv)}), i.e. ${plain(allowed)} shares`,
        {
          limit: plain(allowed),
          value: plain(qty),
          max_adv_pct: plain(maxAdvPct),
          adv: plain(adv),
          adv_days: String(market.adv.days),
        },
      );
    }
  }
  return null;
}
