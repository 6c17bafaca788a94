/**
 * The outbox's claim (OrderEventRepository.publishBatch) against PostgreSQL:
 * the lock, the claim and the mark in one statement, oldest first; only the
 * events the publisher sent stay marked when it commits; a claimer that finds
 * the publisher lock held claims nothing; a failed publish marks nothing.
 */
import { DataSource } from 'typeorm';
import { OrderEventRepository } from '../../../src/events/persistence/order-event.repository';
import { createDataSource } from '../../../src/infra/database/data-source';
import { UnitOfWork } from '../../../src/infra/database/unit-of-work';
import { createTestDatabase, TestDatabase } from '../../support/database';

describe('order-event outbox claim (integration)', () => {
  let database: TestDatabase;
  let ds: DataSource;
  let outbox: OrderEventRepository;

  beforeAll(async () => {
    database = await createTestDatabase();
    ds = createDataSource({ url: database.url, poolSize: 4 });
    await ds.initialize();
    outbox = new OrderEventRepository(ds, new UnitOfWork(ds));
  });

  afterAll(async () => {
    await ds.destroy();
    await database.drop();
  });

  beforeEach(async () => {
    await ds.query('UPDATE order_events SET published_at = now() WHERE published_at IS NULL');
  });

  async function write(n: number): Promise<number[]> {
    const at = new Date();
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      const rows: Array<{ id: string }> = await ds.query(
        `INSERT INTO order_events (client_order_id, strategy_id, symbol, event_type, status, payload, created_at)
         VALUES ($1, 'S', 'XYZ', 'order.status', 'new', $2, $3) RETURNING id`,
        [`e-${i}`, JSON.stringify({ i }), at],
      );
      ids.push(Number(rows[0].id));
    }
    return ids;
  }

  const unpublished = async (): Promise<number[]> =>
    (
      (await ds.query('SELECT id FROM order_events WHERE published_at IS NULL ORDER BY id')) as Array<{ id: string }>
    ).map((r) => Number(r.id));

  it('hands the oldest events to the publisher in id order; those it sent stay marked, the rest stay unpublished', async () => {
    const ids = await write(6);
    let handed: number[] = [];
    const r = await outbox.publishBatch(5, async (events) => {
      handed = events.map((e) => e.id);
      return 3;
    });
    expect(r).toEqual({ busy: false, claimed: 5, published: 3 });
    expect(handed).toEqual(ids.slice(0, 5));
    expect(await unpublished()).toEqual(ids.slice(3));
    // The next claim starts where the publisher stopped.
    const next = await outbox.publishBatch(10, async (events) => events.length);
    expect(next).toEqual({ busy: false, claimed: 3, published: 3 });
    expect(await unpublished()).toEqual([]);
  });

  it('a publish that throws marks nothing', async () => {
    const ids = await write(3);
    await expect(
      outbox.publishBatch(10, async () => {
        throw new Error('store down');
      }),
    ).rejects.toThrow('store down');
    expect(await unpublished()).toEqual(ids);
  });

  it('while one claimer holds the publisher lock, another claims nothing (busy) and marks nothing', async () => {
    const ids = await write(2);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const first = outbox.publishBatch(1, async (events) => {
      entered();
      await held;
      return events.length;
    });
    await inside;
    expect(await outbox.publishBatch(10, async (events) => events.length)).toEqual({
      busy: true,
      claimed: 0,
      published: 0,
    });
    release();
    expect(await first).toEqual({ busy: false, claimed: 1, published: 1 });
    expect(await unpublished()).toEqual(ids.slice(1));
  });

  it('with nothing to publish, claims nothing', async () => {
    expect(await outbox.publishBatch(10, async (events) => events.length)).toEqual({
      busy: false,
      claimed: 0,
      published: 0,
    });
  });
});
