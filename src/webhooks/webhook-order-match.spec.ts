import fc from 'fast-check';
import { matchWebhookOrder, StoredIds } from './webhook-order-match';

const sent = { clientOrderId: 'c1', brokerOrderId: 'b1' };
const order = (clientOrderId: string, brokerOrderId: string | null): StoredIds => ({ clientOrderId, brokerOrderId });

describe('matchWebhookOrder', () => {
  it('applies when both ids name the same stored order', () => {
    const o = order('c1', 'b1');
    expect(matchWebhookOrder(sent, o, o)).toEqual({ kind: 'apply', clientOrderId: 'c1' });
  });

  it('applies when the order has no broker id yet and no other order has this one', () => {
    expect(matchWebhookOrder(sent, order('c1', null), null)).toEqual({ kind: 'apply', clientOrderId: 'c1' });
  });

  it('is unknown when neither id is stored', () => {
    expect(matchWebhookOrder(sent, null, null)).toEqual({ kind: 'unknown_order' });
  });

  it('refuses an unknown client_order_id whose broker id names another order', () => {
    expect(matchWebhookOrder(sent, null, order('other', 'b1'))).toEqual({
      kind: 'mismatch',
      stored: [{ client_order_id: 'other', broker_order_id: 'b1' }],
    });
  });

  it('refuses a client_order_id whose order carries another broker id', () => {
    expect(matchWebhookOrder(sent, order('c1', 'b2'), null).kind).toBe('mismatch');
  });

  it('refuses when each id names a different order', () => {
    const m = matchWebhookOrder(sent, order('c1', null), order('c2', 'b1'));
    expect(m).toEqual({
      kind: 'mismatch',
      stored: [
        { client_order_id: 'c1', broker_order_id: null },
        { client_order_id: 'c2', broker_order_id: 'b1' },
      ],
    });
  });

  it('reaches a leg by its broker id: the broker names legs with client ids of its own', () => {
    const leg = { clientOrderId: 'e1-tp', brokerOrderId: 'b1', legType: 'take_profit' };
    expect(matchWebhookOrder(sent, null, leg)).toEqual({ kind: 'apply', clientOrderId: 'e1-tp' });
    // A client id that names another stored order is still a mismatch, leg or not.
    expect(matchWebhookOrder(sent, order('c1', 'b9'), leg).kind).toBe('mismatch');
  });

  it('property: an applied update always reaches the order stored under the client_order_id sent', () => {
    const id = fc.constantFrom('c1', 'c2', 'b1', 'b2');
    const stored = fc.option(fc.record({ clientOrderId: id, brokerOrderId: fc.option(id, { nil: null }) }), {
      nil: null,
    });
    fc.assert(
      fc.property(id, id, stored, stored, (cid, bid, byClient, byBroker) => {
        // Shape the lookups as the database would answer them.
        const c = byClient && { ...byClient, clientOrderId: cid };
        const b = byBroker && { ...byBroker, brokerOrderId: bid };
        const m = matchWebhookOrder({ clientOrderId: cid, brokerOrderId: bid }, c, b);
        if (m.kind !== 'apply') return;
        expect(m.clientOrderId).toBe(cid);
        expect(c).not.toBeNull();
        expect([null, bid]).toContain(c!.brokerOrderId);
        if (b) expect(b.clientOrderId).toBe(cid);
      }),
    );
  });
});
