import { Logger } from '@nestjs/common';
import { report } from '../../../test/support/order-update.fixtures';
import { OrderStatus } from '../../trading/order-status';
import { ApplyOrderUpdateUseCase, ApplyResult, OrderUpdateReport } from '../use-cases/apply-order-update.use-case';
import { OrderUpdateQueue } from './order-update-queue';

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('OrderUpdateQueue', () => {
  beforeAll(() => Logger.overrideLogger(false));

  function setup(opts: { batchFails?: boolean } = {}) {
    const batches: string[][] = [];
    let hold: Promise<void> | null = null;
    let release = () => undefined as void;
    const updates = {
      applyMany: jest.fn(async (reports: OrderUpdateReport[]): Promise<ApplyResult[]> => {
        batches.push(reports.map((r) => r.order.clientOrderId));
        if (hold) await hold;
        if (opts.batchFails) throw new Error('a report of the batch failed on its own too');
        return reports.map((r) => ({ outcome: 'applied', fillsRecorded: 0, status: r.order.status as OrderStatus }));
      }),
      apply: jest.fn(async (r: OrderUpdateReport): Promise<ApplyResult> => {
        if (r.order.clientOrderId === 'bad') throw new Error('cannot apply');
        return { outcome: 'unchanged', fillsRecorded: 0 };
      }),
    };
    const q = new OrderUpdateQueue(updates as unknown as ApplyOrderUpdateUseCase);
    const holdNext = () => {
      hold = new Promise<void>((r) => (release = () => r()));
    };
    return { q, updates, batches, holdNext, release: () => release() };
  }

  it("applies a symbol's stream reports and the acknowledgements that waited behind its running batch in one unit of work, each caller answered with its own result", async () => {
    const t = setup();
    t.holdNext();
    await t.q.push(report({ clientOrderId: 's1', symbol: 'AAA' }));
    await tick();
    const acks = [
      t.q.apply(report({ clientOrderId: 'a1', symbol: 'AAA', status: 'new' }, { source: 'submit' })),
      t.q.apply(report({ clientOrderId: 'a2', symbol: 'AAA', status: 'accepted' }, { source: 'submit' })),
    ];
    await t.q.push(report({ clientOrderId: 's2', symbol: 'AAA' }));
    const other = t.q.apply(report({ clientOrderId: 'b1', symbol: 'BBB', status: 'new' }, { source: 'submit' }));
    await tick();
    expect(t.batches).toEqual([['s1'], ['b1']]);
    t.release();
    expect((await Promise.all(acks)).map((r) => r.status)).toEqual(['new', 'accepted']);
    expect((await other).status).toBe('new');
    await t.q.drain();
    expect(t.batches).toEqual([['s1'], ['b1'], ['a1', 'a2', 's2']]);
  });

  it('when the batch fails, each waiting caller gets its own report applied again on its own: a result or its error', async () => {
    const t = setup({ batchFails: true });
    const good = t.q.apply(report({ clientOrderId: 'ok', symbol: 'AAA' }, { source: 'submit' }));
    const bad = t.q.apply(report({ clientOrderId: 'bad', symbol: 'AAA' }, { source: 'submit' }));
    await t.q.push(report({ clientOrderId: 'stream', symbol: 'AAA' }));
    await expect(good).resolves.toMatchObject({ outcome: 'unchanged' });
    await expect(bad).rejects.toThrow('cannot apply');
    await t.q.drain();
    // The stream's report is not applied again here (its failure is logged; the stream and the poll bring it back).
    expect(t.updates.apply.mock.calls.map(([r]) => r.order.clientOrderId)).toEqual(['ok', 'bad']);
  });
});
