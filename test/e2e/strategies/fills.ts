import { ApplyOrderUpdateUseCase } from '../../../src/orders/use-cases/apply-order-update.use-case';
import { TestApp } from '../../support/app';

let seq = 0;

/** A filled order of `strategyId`, as if the broker had reported it: one execution at `price`. */
export async function filledOrder(
  t: TestApp,
  o: { strategyId: string; symbol: string; side: 'buy' | 'sell'; qty: string; price: string; at?: Date },
): Promise<string> {
  const id = `pnl-${++seq}-${Date.now()}`;
  await t.db.query(
    `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, time_in_force, status)
     VALUES ($1, $2, $3, $4, $5, 'market', 'day', 'submitted')`,
    [id, o.strategyId, o.symbol, o.side, o.qty],
  );
  const at = o.at ?? new Date();
  await t.app.get(ApplyOrderUpdateUseCase).apply({
    source: 'stream',
    at,
    execution: { executionId: `x-${id}`, qty: o.qty, price: o.price },
    order: {
      id: `b-${id}`,
      clientOrderId: id,
      symbol: o.symbol,
      side: o.side,
      type: 'market',
      timeInForce: 'day',
      qty: o.qty,
      limitPrice: null,
      stopPrice: null,
      status: 'filled',
      filledQty: o.qty,
      filledAvgPrice: o.price,
      createdAt: at,
      updatedAt: null,
      submittedAt: null,
      filledAt: at,
      canceledAt: null,
      replacedBy: null,
      replaces: null,
    },
  });
  // Distinct execution times keep the order of the fills.
  await new Promise((r) => setTimeout(r, 5));
  return id;
}
