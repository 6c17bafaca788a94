/**
 * The 422 refusals of the order-entry door for bracket, OTO and OCO orders and for trailing stops and extended
 * hours (docs/api.md), as suites run against each broker (the fake Alpaca through the real SDK, and the sim):
 * each names its fields, writes no order row and sends nothing.
 */
import { auth, TestApp } from './app';
import { expectError } from './http-expect';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface RefusalHarness {
  t: TestApp;
  /** Orders the broker has been sent so far, where the broker can tell (the fake Alpaca). */
  brokerPosts?: () => number;
}

const SYMBOL = 'BAD';

/** Posts `body` for SYMBOL and expects a 422 naming exactly `fields`, with no order row written and nothing sent. */
async function expectRefused(h: RefusalHarness, body: Body, fields: string[]): Promise<void> {
  const rows = async () =>
    Number((await h.t.db.query(`SELECT count(*)::int AS n FROM orders WHERE symbol = $1`, [SYMBOL]))[0].n);
  const [rowsBefore, postsBefore] = [await rows(), h.brokerPosts?.()];
  const res = await h.t.http
    .post('/api/v1/orders')
    .set(auth)
    .send({ symbol: SYMBOL, ...body });
  const error = expectError(res, 422, 'VALIDATION_FAILED');
  expect((error.details!.fields as Body[]).map((f) => f.field).sort()).toEqual(fields);
  expect(await rows()).toBe(rowsBefore);
  expect(h.brokerPosts?.()).toBe(postsBefore);
}

/** Bracket, OTO and OCO: the legs each class needs, where their prices may lie, and an OCO with nothing to exit. */
export function orderClassRefusals(broker: string, harness: () => RefusalHarness): void {
  describe(`every bracket/oto/oco refusal is a 422 naming its fields, and writes nothing (${broker})`, () => {
    const base = { side: 'buy', qty: 1 };
    const limitBracket = (stop: number, tp = 110) => ({
      order_type: 'limit',
      limit_price: 100,
      order_class: 'bracket',
      take_profit: { limit_price: tp },
      stop_loss: { stop_price: stop },
    });
    it.each<[string, Body, string[]]>([
      ['a bracket without its stop', { order_class: 'bracket', take_profit: { limit_price: 110 } }, ['stop_loss']],
      ['a bracket without legs', { order_class: 'bracket' }, ['stop_loss', 'take_profit']],
      [
        'an oto with both legs',
        { order_class: 'oto', take_profit: { limit_price: 110 }, stop_loss: { stop_price: 90 } },
        ['stop_loss', 'take_profit'],
      ],
      ['an oto without a leg', { order_class: 'oto' }, ['stop_loss', 'take_profit']],
      [
        'an oco without its take-profit',
        { side: 'sell', order_class: 'oco', stop_loss: { stop_price: 90 } },
        ['take_profit'],
      ],
      [
        'an oco with no position to exit',
        { side: 'sell', order_class: 'oco', take_profit: { limit_price: 110 }, stop_loss: { stop_price: 90 } },
        ['order_class'],
      ],
      [
        'a buy bracket taking profit below its stop',
        { order_class: 'bracket', take_profit: { limit_price: 90 }, stop_loss: { stop_price: 110 } },
        ['stop_loss.stop_price', 'take_profit.limit_price'],
      ],
      [
        'a sell bracket taking profit above its stop',
        { side: 'sell', order_class: 'bracket', take_profit: { limit_price: 110 }, stop_loss: { stop_price: 90 } },
        ['stop_loss.stop_price', 'take_profit.limit_price'],
      ],
      ['a buy stop at the entry price', limitBracket(100), ['stop_loss.stop_price']],
      ['a buy stop above the entry price (below its take-profit)', limitBracket(105), ['stop_loss.stop_price']],
      [
        'a buy take-profit at the entry price',
        { ...limitBracket(90), take_profit: { limit_price: 100 } },
        ['take_profit.limit_price'],
      ],
      [
        'a sell stop below the entry price',
        { side: 'sell', order_type: 'limit', limit_price: 100, order_class: 'oto', stop_loss: { stop_price: 99 } },
        ['stop_loss.stop_price'],
      ],
      ['a take-profit on a simple order', { take_profit: { limit_price: 110 } }, ['take_profit']],
      ['a stop-loss on a simple order', { order_class: 'simple', stop_loss: { stop_price: 90 } }, ['stop_loss']],
      [
        'a leg price that is not a decimal',
        { order_class: 'oto', take_profit: { limit_price: '1e3' } },
        ['take_profit.limit_price'],
      ],
    ])('%s', (_name, extra, fields) => expectRefused(harness(), { ...base, ...extra }, fields));
  });
}

/** Trailing stops (exactly one trail, no prices of their own) and extended hours (limit day orders only). */
export function orderTypeRefusals(broker: string, harness: () => RefusalHarness): void {
  describe(`every trailing-stop and extended-hours refusal is a 422 naming its field, and writes nothing (${broker})`, () => {
    it.each<[string, Body, string[]]>([
      ['neither trail', { order_type: 'trailing_stop' }, ['trail_percent', 'trail_price']],
      [
        'both trails',
        { order_type: 'trailing_stop', trail_price: 1, trail_percent: 1 },
        ['trail_percent', 'trail_price'],
      ],
      ['a zero trail_price', { order_type: 'trailing_stop', trail_price: 0 }, ['trail_price']],
      ['a negative trail_percent', { order_type: 'trailing_stop', trail_percent: -2 }, ['trail_percent']],
      ['a trail_percent of 100', { order_type: 'trailing_stop', trail_percent: 100 }, ['trail_percent']],
      [
        'a limit_price on a trailing stop',
        { order_type: 'trailing_stop', trail_price: 1, limit_price: 9 },
        ['limit_price'],
      ],
      [
        'a stop_price on a trailing stop',
        { order_type: 'trailing_stop', trail_price: 1, stop_price: 9 },
        ['stop_price'],
      ],
      ['a trail on a market order', { trail_price: 1 }, ['trail_price']],
      ['extended_hours on a market order', { extended_hours: true }, ['extended_hours']],
      [
        'extended_hours on a gtc limit',
        { order_type: 'limit', limit_price: 5, time_in_force: 'gtc', extended_hours: true },
        ['extended_hours'],
      ],
      [
        'extended_hours on a trailing stop',
        { order_type: 'trailing_stop', trail_price: 1, extended_hours: true },
        ['extended_hours'],
      ],
      [
        'extended_hours not a boolean',
        { order_type: 'limit', limit_price: 5, extended_hours: 'yes' },
        ['extended_hours'],
      ],
    ])('422 for %s', (_name, extra, fields) => expectRefused(harness(), { side: 'sell', qty: 1, ...extra }, fields));
  });
}
