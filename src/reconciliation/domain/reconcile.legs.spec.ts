import fc from 'fast-check';
import type { BrokerOrder } from '../../broker/broker-client.port';
import { LocalOrderView, OrderReconcileInput, reconcileOrders } from './reconcile';
import { brokerOrder } from './reconcile.spec-helpers';

/** A bracket at the broker: the entry `E1` with its take-profit `L-tp` and stop `L-sl`, Alpaca's own client ids. */
function brokerBracket(legs: { tp?: Partial<BrokerOrder>; sl?: Partial<BrokerOrder> } = {}): BrokerOrder {
  const entry = brokerOrder('E1', 'b-1', 'AAPL', 'buy', '10', 'filled', '10', '100');
  const tp = {
    ...brokerOrder('L-tp', 'alpaca-uuid-1', 'AAPL', 'sell', '10', 'new', '0', null),
    type: 'limit',
    limitPrice: '110',
    ...legs.tp,
  };
  const sl = {
    ...brokerOrder('L-sl', 'alpaca-uuid-2', 'AAPL', 'sell', '10', 'new', '0', null),
    type: 'stop',
    stopPrice: '90',
    ...legs.sl,
  };
  return { ...entry, orderClass: 'bracket', legs: [tp, sl] };
}

const local = (o: Partial<LocalOrderView> & Pick<LocalOrderView, 'clientOrderId'>): LocalOrderView => ({
  brokerOrderId: null,
  symbol: 'AAPL',
  side: 'sell',
  qty: '10',
  status: 'accepted',
  filledQty: '0',
  filledAvgPrice: null,
  parentOrderId: null,
  legType: null,
  ...o,
});

const entry = local({
  clientOrderId: 'b-1',
  brokerOrderId: 'E1',
  side: 'buy',
  status: 'filled',
  filledQty: '10',
  filledAvgPrice: '100',
});
const tpRow = (o: Partial<LocalOrderView> = {}) =>
  local({ clientOrderId: 'b-1-tp', parentOrderId: 'b-1', legType: 'take_profit', ...o });
const slRow = (o: Partial<LocalOrderView> = {}) =>
  local({ clientOrderId: 'b-1-sl', parentOrderId: 'b-1', legType: 'stop_loss', ...o });

function run(locals: LocalOrderView[], brokerOrders: BrokerOrder[]) {
  const cids = new Set(locals.map((o) => o.clientOrderId));
  const bids = new Set(locals.flatMap((o) => (o.brokerOrderId ? [o.brokerOrderId] : [])));
  const input: OrderReconcileInput = {
    localOrders: locals,
    brokerOrders,
    isKnown: ({ clientOrderId, brokerOrderId }) =>
      (clientOrderId !== null && cids.has(clientOrderId)) || (brokerOrderId !== null && bids.has(brokerOrderId)),
    brokerFills: [],
    knownExecutionIds: new Set(),
  };
  return reconcileOrders(input);
}

describe('reconcileOrders: legs of bracket / oto / oco orders', () => {
  it('a leg row without its broker id adopts the broker leg of its type, under the gateway id', () => {
    const { corrections, findings } = run([entry, tpRow(), slRow()], [brokerBracket()]);
    expect(findings).toEqual([]);
    expect(corrections.map((c) => [c.kind, c.clientOrderId, c.order.id, c.order.clientOrderId])).toEqual([
      ['apply_status', 'b-1-tp', 'L-tp', 'b-1-tp'],
      ['apply_status', 'b-1-sl', 'L-sl', 'b-1-sl'],
    ]);
  });

  it("a leg's status reconciles like an order's: the broker's fill and the sibling's cancel are applied", () => {
    const broker = brokerBracket({
      tp: { status: 'filled', filledQty: '10', filledAvgPrice: '110' },
      sl: { status: 'canceled' },
    });
    const { corrections } = run(
      [entry, tpRow({ brokerOrderId: 'L-tp', status: 'new' }), slRow({ brokerOrderId: 'L-sl', status: 'new' })],
      [broker],
    );
    expect(corrections.map((c) => [c.clientOrderId, c.order.status, c.order.filledQty])).toEqual([
      ['b-1-tp', 'filled', '10'],
      ['b-1-sl', 'canceled', '0'],
    ]);
  });

  it('a leg at the broker with no local row is adopted under its parent, never an orphan', () => {
    const { corrections, findings } = run([entry, tpRow({ brokerOrderId: 'L-tp' })], [brokerBracket()]);
    expect(findings.filter((f) => f.kind === 'orphan')).toEqual([]);
    const adopt = corrections.filter((c) => c.kind === 'adopt_leg');
    expect(adopt).toEqual([
      expect.objectContaining({
        clientOrderId: 'b-1-sl',
        leg: { parentClientOrderId: 'b-1', legType: 'stop_loss' },
        order: expect.objectContaining({ id: 'L-sl', clientOrderId: 'b-1-sl' }),
      }),
    ]);
  });

  it('the legs of an order the gateway never sent are part of its orphan, not orphans of their own', () => {
    const { findings, corrections } = run([], [brokerBracket()]);
    expect(corrections).toEqual([]);
    expect(findings.map((f) => [f.kind, f.brokerOrderId])).toEqual([['orphan', 'E1']]);
  });

  it('settled legs yield nothing (property: idempotent once applied)', () => {
    const status = fc.constantFrom('new', 'filled', 'canceled', 'held');
    fc.assert(
      fc.property(status, status, (tpStatus, slStatus) => {
        const broker = brokerBracket({ tp: { status: tpStatus }, sl: { status: slStatus } });
        const first = run([entry, tpRow(), slRow()], [broker]);
        // Apply: each leg row takes the broker's id and word.
        const applied = [
          entry,
          ...first.corrections.map((c) =>
            (c.clientOrderId === 'b-1-tp' ? tpRow : slRow)({
              brokerOrderId: c.order.id,
              status: c.order.status === 'held' ? 'accepted' : (c.order.status as LocalOrderView['status']),
            }),
          ),
        ];
        const second = run(applied, [broker]);
        expect(second.corrections).toEqual([]);
        expect(second.findings).toEqual([]);
      }),
    );
  });
});
