import { InputValidationError } from '../common/domain-error';
import { OrderCommand } from './order-command';

const buy = { symbol: 'AAPL', side: 'buy', qty: 10 };

describe('OrderCommand.create: bracket, oto and oco orders', () => {
  const check = (plain: Record<string, unknown>): string[] => {
    try {
      OrderCommand.create(plain);
      return [];
    } catch (e) {
      return (e as InputValidationError).fields.map((f) => f.field).sort();
    }
  };

  it('a simple order is simple by default, with no legs', () => {
    expect(OrderCommand.create(buy)).toMatchObject({ orderClass: 'simple', takeProfit: null, stopLoss: null });
  });

  it('a bracket keeps its legs, prices as normalized decimal strings', () => {
    const cmd = OrderCommand.create({
      ...buy,
      order_type: 'limit',
      limit_price: '150.00',
      order_class: 'bracket',
      take_profit: { limit_price: 160.5 },
      stop_loss: { stop_price: '140.10', limit_price: '139' },
    });
    expect(cmd).toMatchObject({
      orderClass: 'bracket',
      orderType: 'limit',
      limitPrice: '150',
      takeProfit: { limitPrice: '160.5' },
      stopLoss: { stopPrice: '140.1', limitPrice: '139' },
      takeProfitLimitPrice: '160.5',
      stopLossStopPrice: '140.1',
      stopLossLimitPrice: '139',
    });
  });

  it('an oco is a limit order at its take-profit price', () => {
    const cmd = OrderCommand.create({
      ...buy,
      side: 'sell',
      order_class: 'oco',
      take_profit: { limit_price: '160' },
      stop_loss: { stop_price: '140' },
    });
    expect(cmd).toMatchObject({
      orderType: 'limit',
      limitPrice: '160',
      stopLoss: { stopPrice: '140', limitPrice: null },
    });
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ['bracket without legs', { order_class: 'bracket' }, ['stop_loss', 'take_profit']],
    ['bracket without its stop', { order_class: 'bracket', take_profit: { limit_price: 160 } }, ['stop_loss']],
    ['bracket without its take-profit', { order_class: 'bracket', stop_loss: { stop_price: 140 } }, ['take_profit']],
    ['oto without a leg', { order_class: 'oto' }, ['stop_loss', 'take_profit']],
    [
      'oto with both legs',
      { order_class: 'oto', take_profit: { limit_price: 160 }, stop_loss: { stop_price: 140 } },
      ['stop_loss', 'take_profit'],
    ],
    ['oco without its stop', { side: 'sell', order_class: 'oco', take_profit: { limit_price: 160 } }, ['stop_loss']],
    ['legs on a simple order', { take_profit: { limit_price: 160 } }, ['take_profit']],
    ['a stop-loss on a simple order', { order_class: 'simple', stop_loss: { stop_price: 140 } }, ['stop_loss']],
    [
      'a buy bracket taking profit below its stop',
      { order_class: 'bracket', take_profit: { limit_price: 140 }, stop_loss: { stop_price: 160 } },
      ['stop_loss.stop_price', 'take_profit.limit_price'],
    ],
    [
      'a buy bracket taking profit at its stop',
      { order_class: 'bracket', take_profit: { limit_price: 150 }, stop_loss: { stop_price: 150 } },
      ['stop_loss.stop_price', 'take_profit.limit_price'],
    ],
    [
      'a sell bracket taking profit above its stop',
      { side: 'sell', order_class: 'bracket', take_profit: { limit_price: 160 }, stop_loss: { stop_price: 140 } },
      ['stop_loss.stop_price', 'take_profit.limit_price'],
    ],
    [
      'a buy stop at the entry price',
      {
        order_type: 'limit',
        limit_price: 150,
        order_class: 'bracket',
        take_profit: { limit_price: 160 },
        stop_loss: { stop_price: 150 },
      },
      ['stop_loss.stop_price'],
    ],
    [
      'a buy take-profit at the entry price',
      { order_type: 'limit', limit_price: 150, order_class: 'oto', take_profit: { limit_price: 150 } },
      ['take_profit.limit_price'],
    ],
    [
      'a sell stop below the entry price',
      { side: 'sell', order_type: 'limit', limit_price: 150, order_class: 'oto', stop_loss: { stop_price: 149 } },
      ['stop_loss.stop_price'],
    ],
    [
      'a sell oco taking profit below its stop',
      { side: 'sell', order_class: 'oco', take_profit: { limit_price: 140 }, stop_loss: { stop_price: 160 } },
      ['stop_loss.stop_price', 'take_profit.limit_price'],
    ],
    [
      'an oco with its own limit price',
      {
        side: 'sell',
        order_class: 'oco',
        limit_price: 160,
        take_profit: { limit_price: 160 },
        stop_loss: { stop_price: 140 },
      },
      ['limit_price'],
    ],
    [
      'an oco of another type',
      {
        side: 'sell',
        order_class: 'oco',
        order_type: 'market',
        take_profit: { limit_price: 160 },
        stop_loss: { stop_price: 140 },
      },
      ['order_type'],
    ],
    [
      'a stop entry',
      { order_class: 'oto', order_type: 'stop', stop_price: 150, take_profit: { limit_price: 160 } },
      ['order_type'],
    ],
    [
      'an ioc bracket',
      { order_class: 'oto', time_in_force: 'ioc', take_profit: { limit_price: 160 } },
      ['time_in_force'],
    ],
    ['an unknown class', { order_class: 'mleg' }, ['order_class']],
    ['a leg that is not an object', { order_class: 'oto', take_profit: 160 }, ['take_profit']],
    [
      'a leg price that is not a decimal',
      { order_class: 'oto', take_profit: { limit_price: 'abc' } },
      ['take_profit.limit_price'],
    ],
    ['a leg price at zero', { order_class: 'oto', stop_loss: { stop_price: 0 } }, ['stop_loss.stop_price']],
    ['a leg without its price', { order_class: 'oto', stop_loss: { limit_price: 139 } }, ['stop_loss.stop_price']],
    ['an unknown leg field', { order_class: 'oto', take_profit: { limit_price: 160, qty: 1 } }, ['take_profit.qty']],
    [
      'an id too long for its legs',
      { order_class: 'oto', take_profit: { limit_price: 160 }, client_order_id: 'x'.repeat(46) },
      ['client_order_id'],
    ],
  ])('%s → 422 naming %j', (_name, extra, fields) => {
    expect(check({ ...buy, ...extra })).toEqual(fields);
  });

  it('an id of 45 characters leaves room for its legs', () => {
    expect(
      check({ ...buy, order_class: 'oto', take_profit: { limit_price: 160 }, client_order_id: 'x'.repeat(45) }),
    ).toEqual([]);
  });
});
