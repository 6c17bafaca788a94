import { AuditEntry } from '../../audit/audit-entry';
import { NewOrder, Order } from '../../trading/order';
import { InsertGuard } from '../persistence/order-insert';
import { OrderRepository } from '../persistence/order.repository';
import { GuardedInsert, GuardedInsertQueue } from './guarded-insert-queue';

const tick = () => new Promise((r) => setTimeout(r, 0));
const audit: AuditEntry = { action: 'order.accepted', actor: 'test', details: {} };
const guard: InsertGuard = { guard: '100||', maxOpenOrders: 10 };
const order = (id: string, symbol = 'AAA') => ({ clientOrderId: id, symbol }) as NewOrder;
const written = (o: NewOrder) => ({ clientOrderId: o.clientOrderId, symbol: o.symbol }) as Order;
const guardError = () => Object.assign(new Error('past its guard'), { code: 'EG002' });

/** A repository whose inserts wait until released, recording every statement. */
function fakeRepository() {
  const statements: string[][] = [];
  const gates: Array<() => void> = [];
  const gate = () => new Promise<void>((r) => gates.push(r));
  /** Ids whose insert fails alone, and ids that make a batch fail. */
  const refuse = new Set<string>();
  const taken = new Set<string>();
  const repo = {
    insertGuardedMany: jest.fn(async (entries: Array<{ order: NewOrder }>) => {
      statements.push(entries.map((e) => e.order.clientOrderId));
      await gate();
      if (entries.some((e) => refuse.has(e.order.clientOrderId))) throw guardError();
      const fresh = entries.filter((e) => !taken.has(e.order.clientOrderId));
      for (const e of fresh) taken.add(e.order.clientOrderId);
      return new Map(fresh.map((e) => [e.order.clientOrderId, written(e.order)]));
    }),
    insertWithAudit: jest.fn(async (o: NewOrder) => {
      statements.push([o.clientOrderId]);
      await gate();
      if (refuse.has(o.clientOrderId)) throw guardError();
      if (taken.has(o.clientOrderId)) return { order: null, created: false };
      taken.add(o.clientOrderId);
      return { order: written(o), created: true };
    }),
  };
  const releaseAll = async () => {
    for (let i = 0; i < 20; i++) {
      gates.splice(0).forEach((r) => r());
      await tick();
    }
  };
  return { repo, statements, refuse, taken, releaseAll, release: () => gates.shift()?.() };
}

describe('GuardedInsertQueue', () => {
  it("inserts the orders that waited behind their symbol's running insert together, in order; other symbols go side by side", async () => {
    const f = fakeRepository();
    const q = new GuardedInsertQueue(f.repo as unknown as OrderRepository);
    const results: Array<Promise<GuardedInsert>> = [];
    results.push(q.insert(order('a1'), audit, guard));
    await tick();
    for (const id of ['a2', 'a3', 'a4']) results.push(q.insert(order(id), audit, guard));
    results.push(q.insert(order('b1', 'BBB'), audit, guard));
    await tick();
    expect(f.statements).toEqual([['a1'], ['b1']]);
    await f.releaseAll();
    expect(f.statements).toEqual([['a1'], ['b1'], ['a2', 'a3', 'a4']]);
    const answers = await Promise.all(results);
    expect(answers.map((a) => [a.created, a.order?.clientOrderId])).toEqual([
      [true, 'a1'],
      [true, 'a2'],
      [true, 'a3'],
      [true, 'a4'],
      [true, 'b1'],
    ]);
  });

  it('a failed batch wrote nothing: each order is inserted again on its own, in turn, and answered by its own outcome', async () => {
    const f = fakeRepository();
    const q = new GuardedInsertQueue(f.repo as unknown as OrderRepository);
    const first = q.insert(order('x0'), audit, guard);
    await tick();
    f.refuse.add('x2');
    const rest = ['x1', 'x2', 'x3'].map((id) =>
      q.insert(order(id), audit, guard).then(
        (r) => r.created,
        (err: { code?: string }) => err.code,
      ),
    );
    await f.releaseAll();
    await first;
    expect(await Promise.all(rest)).toEqual([true, 'EG002', true]);
    expect(f.statements).toEqual([['x0'], ['x1', 'x2', 'x3'], ['x1'], ['x2'], ['x3']]);
  });

  it('an id already taken is answered as not created; an id twice in one batch goes alone after it', async () => {
    const f = fakeRepository();
    const q = new GuardedInsertQueue(f.repo as unknown as OrderRepository);
    f.taken.add('t1');
    const first = q.insert(order('y0'), audit, guard);
    await tick();
    const answers = [
      q.insert(order('t1'), audit, guard),
      q.insert(order('y1'), audit, guard),
      q.insert(order('y1'), audit, guard),
    ];
    await f.releaseAll();
    await first;
    expect((await Promise.all(answers)).map((a) => a.created)).toEqual([false, true, false]);
    expect(f.statements).toEqual([['y0'], ['t1', 'y1'], ['y1']]);
  });
});
