import fc from 'fast-check';
import { exact, plain } from '../../common/decimal';
import { comparePositions } from './compare-positions';
import { LocalOrderView, OrderReconcileInput, reconcileOrders } from './reconcile';
import { applyAll, brokerOrder, converged, input, positionsOf, snapshot, T0, worldArb } from './reconcile.spec-helpers';

describe('reconcileOrders (properties)', () => {
  it('applying the corrections twice changes nothing the second time', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const { corrections } = reconcileOrders(input(w, w.books));
        const once = applyAll(w.books, corrections);
        const twice = applyAll(once, corrections);
        expect(snapshot(twice)).toEqual(snapshot(once));
      }),
    );
  });

  it('converges: after the corrections, the same reports yield no corrections and positions agree', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const { corrections } = reconcileOrders(input(w, w.books));
        const after = applyAll(w.books, corrections);
        expect(reconcileOrders(input(w, after)).corrections).toEqual([]);
        expect(comparePositions(positionsOf(after), w.positions)).toEqual([]);
        // Every execution the broker reported is recorded exactly once (per cumulative step).
        for (const o of after.orders.values()) {
          const sum = [...after.executions.values()]
            .filter((e) => e.clientOrderId === o.clientOrderId)
            .reduce((s, e) => s.plus(e.qty), exact('0'));
          expect(plain(sum)).toBe(plain(exact(o.filledQty)));
        }
      }),
    );
  });

  it('a state that already agrees with the broker yields no corrections and no findings but the orphans', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const books = converged(w);
        const result = reconcileOrders(input(w, books));
        expect(result.corrections).toEqual([]);
        expect(result.findings.filter((f) => f.kind !== 'orphan')).toEqual([]);
        expect(comparePositions(positionsOf(books), w.positions)).toEqual([]);
      }),
    );
  });

  it('reports every broker order the gateway never sent as an orphan, once, and nothing else as one', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const orphans = reconcileOrders(input(w, w.books)).findings.filter((f) => f.kind === 'orphan');
        expect(orphans.map((f) => f.brokerOrderId).sort()).toEqual([...w.orphanIds].sort());
        expect(new Set(orphans.map((f) => f.key)).size).toBe(orphans.length);
      }),
    );
  });

  it('never proposes a fill the books already hold under another channel’s id (cumulative decides)', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const { corrections } = reconcileOrders(input(w, w.books));
        for (const c of corrections.filter((x) => x.kind === 'apply_fill')) {
          const local = w.books.orders.get(c.clientOrderId)!;
          expect(exact(c.order.filledQty).gt(local.filledQty)).toBe(true);
        }
      }),
    );
  });
});

describe('reconcileOrders (examples)', () => {
  const local = (over: Partial<LocalOrderView> = {}): LocalOrderView => ({
    clientOrderId: 'c1',
    brokerOrderId: 'b1',
    symbol: 'AAPL',
    side: 'buy',
    qty: '10',
    status: 'new',
    filledQty: '0',
    filledAvgPrice: null,
    ...over,
  });
  const base = (over: Partial<OrderReconcileInput>): OrderReconcileInput => ({
    localOrders: [],
    brokerOrders: [],
    isKnown: () => false,
    brokerFills: [],
    knownExecutionIds: new Set(),
    ...over,
  });

  it('resolves an unconfirmed order found by client_order_id (adopting the broker id)', () => {
    const r = reconcileOrders(
      base({
        localOrders: [local({ brokerOrderId: null, status: 'submitted_unconfirmed' })],
        brokerOrders: [brokerOrder('b1', 'c1', 'AAPL', 'buy', '10', 'new', '0', null)],
      }),
    );
    expect(r.corrections).toHaveLength(1);
    expect(r.corrections[0]).toMatchObject({ kind: 'apply_status', clientOrderId: 'c1', order: { id: 'b1' } });
    expect(r.findings).toEqual([]);
  });

  it('leaves an unconfirmed order the broker does not know to the resolver, but flags a working one', () => {
    const r = reconcileOrders(
      base({
        localOrders: [
          local({ clientOrderId: 'c1', brokerOrderId: null, status: 'submitted_unconfirmed' }),
          local({ clientOrderId: 'c2', brokerOrderId: 'b2', status: 'new' }),
        ],
      }),
    );
    expect(r.corrections).toEqual([]);
    expect(r.findings.map((f) => [f.kind, f.clientOrderId, f.broker])).toEqual([['status_mismatch', 'c2', null]]);
  });

  it('does not price a fill alone when an earlier execution is outside the window: the order report covers it', () => {
    const r = reconcileOrders(
      base({
        localOrders: [local()],
        brokerOrders: [brokerOrder('b1', 'c1', 'AAPL', 'buy', '10', 'filled', '10', '101')],
        brokerFills: [
          {
            executionId: 'x2',
            brokerOrderId: 'b1',
            symbol: 'AAPL',
            side: 'buy',
            qty: '6',
            price: '101.5',
            cumQty: '10',
            leavesQty: '0',
            transactionTime: new Date(T0),
          },
        ],
      }),
    );
    expect(r.corrections.map((c) => c.kind)).toEqual(['apply_status']);
  });

  it('compares positions at the broker’s precision and names both sides', () => {
    expect(
      comparePositions(
        [{ symbol: 'AAPL', qty: '10', avgEntryPrice: '100.000001' }],
        [
          {
            symbol: 'AAPL',
            qty: '10',
            avgEntryPrice: '100',
            marketValue: null,
            currentPrice: null,
            unrealizedPl: null,
          },
        ],
      ),
    ).toEqual([]);
    expect(
      comparePositions(
        [
          { symbol: 'AAPL', qty: '10', avgEntryPrice: '100' },
          { symbol: 'MSFT', qty: '0', avgEntryPrice: '0' },
        ],
        [{ symbol: 'AAPL', qty: '7', avgEntryPrice: '100', marketValue: null, currentPrice: null, unrealizedPl: null }],
      ),
    ).toEqual([
      expect.objectContaining({
        kind: 'position_mismatch',
        symbol: 'AAPL',
        local: { qty: '10', avg_entry_price: '100' },
        broker: { qty: '7', avg_entry_price: '100' },
      }),
    ]);
  });
});

describe('reconcileOrders: replaces', () => {
  const local = (over: Partial<LocalOrderView> = {}): LocalOrderView => ({
    clientOrderId: 'c1',
    brokerOrderId: 'b1',
    symbol: 'AAPL',
    side: 'buy',
    qty: '10',
    status: 'new',
    filledQty: '0',
    filledAvgPrice: null,
    ...over,
  });
  const base = (over: Partial<OrderReconcileInput>): OrderReconcileInput => ({
    localOrders: [],
    brokerOrders: [],
    isKnown: () => false,
    brokerFills: [],
    knownExecutionIds: new Set(),
    ...over,
  });
  const replacedOld = { ...brokerOrder('b1', 'c1', 'AAPL', 'buy', '10', 'replaced', '0', null), replacedBy: 'b2' };
  const replacement = (clientOrderId: string) => ({
    ...brokerOrder('b2', clientOrderId, 'AAPL', 'buy', '6', 'new', '0', null),
    replaces: 'b1',
    createdAt: new Date(T0 + 1000),
  });

  it('an order the broker reports replaced ends replaced; its local replacement is adopted first, and is no orphan', () => {
    const r = reconcileOrders(
      base({
        localOrders: [local(), local({ clientOrderId: 'c1-r1', brokerOrderId: null, status: 'pending_new', qty: '6' })],
        brokerOrders: [replacedOld, replacement('c1-r1')],
      }),
    );
    expect(r.corrections.map((c) => [c.kind, c.clientOrderId, c.order.status])).toEqual([
      ['apply_status', 'c1-r1', 'new'],
      ['apply_status', 'c1', 'replaced'],
    ]);
    expect(r.findings).toEqual([]);
  });

  it('a replacement the broker has but the books do not (its answer never recorded) is adopted, not an orphan', () => {
    const r = reconcileOrders(
      base({ localOrders: [local()], brokerOrders: [replacedOld, replacement('broker-generated-id')] }),
    );
    expect(r.findings.filter((f) => f.kind === 'orphan')).toEqual([]);
    expect(r.corrections).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'apply_status',
          clientOrderId: 'c1',
          order: expect.objectContaining({ status: 'replaced' }),
        }),
        expect.objectContaining({
          kind: 'adopt_replacement',
          clientOrderId: 'broker-generated-id',
          replaces: 'c1',
          order: expect.objectContaining({ id: 'b2', replaces: 'b1' }),
        }),
      ]),
    );
  });

  it('a chain of replaces unknown locally is adopted link by link', () => {
    const third = {
      ...brokerOrder('b3', 'gen-3', 'AAPL', 'buy', '4', 'new', '0', null),
      replaces: 'b2',
      createdAt: new Date(T0 + 2000),
    };
    const r = reconcileOrders(
      base({
        localOrders: [local()],
        brokerOrders: [third, replacedOld, { ...replacement('gen-2'), status: 'replaced', replacedBy: 'b3' }],
      }),
    );
    expect(
      r.corrections.filter((c) => c.kind === 'adopt_replacement').map((c) => [c.clientOrderId, c.replaces]),
    ).toEqual([
      ['gen-2', 'c1'],
      ['gen-3', 'gen-2'],
    ]);
    expect(r.findings.filter((f) => f.kind === 'orphan')).toEqual([]);
  });

  it('a broker order replacing an order the gateway never had is still an orphan', () => {
    const r = reconcileOrders(base({ brokerOrders: [{ ...replacement('x'), replaces: 'b-unknown' }] }));
    expect(r.findings.map((f) => f.kind)).toEqual(['orphan']);
    expect(r.corrections).toEqual([]);
  });

  it('once adopted, the same reports yield nothing more (convergence)', () => {
    const r = reconcileOrders(
      base({
        localOrders: [
          local({ status: 'replaced' }),
          local({ clientOrderId: 'c1-r1', brokerOrderId: 'b2', status: 'new', qty: '6' }),
        ],
        brokerOrders: [replacedOld, replacement('c1-r1')],
      }),
    );
    expect(r.corrections).toEqual([]);
    expect(r.findings).toEqual([]);
  });
});
