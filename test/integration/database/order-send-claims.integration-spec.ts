/**
 * Who sends an unsent order (OrderSendRepository, src/orders/domain/send-window.ts)
 * against PostgreSQL. A cancel request and a claim are each one UPDATE of the
 * order's row, so whatever their timing exactly one of them is first: a claim
 * taken first makes the cancel see the order being sent (so it is never ended
 * locally while a send is in flight: no order left working at the broker
 * behind a local `canceled`), and a cancel first makes every claim refuse it.
 */
import { DataSource } from 'typeorm';
import { createDataSource } from '../../../src/infra/database/data-source';
import { UnitOfWork } from '../../../src/infra/database/unit-of-work';
import { sendQuietSince } from '../../../src/orders/domain/send-window';
import { OrderSendRepository } from '../../../src/orders/persistence/order-send.repository';
import { createTestDatabase, TestDatabase } from '../../support/database';

const TIMEOUT_MS = 1_000;

describe('unsent orders: claims and cancel requests (integration)', () => {
  let database: TestDatabase;
  let ds: DataSource;
  let sends: OrderSendRepository;
  let uow: UnitOfWork;
  let n = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    ds = createDataSource({ url: database.url, poolSize: 8 });
    await ds.initialize();
    sends = new OrderSendRepository(ds);
    uow = new UnitOfWork(ds);
  });

  afterAll(async () => {
    await ds.destroy();
    await database.drop();
  });

  /** A `pending_new` order last changed `ageMs` ago, with `metadata`. */
  async function unsent(ageMs: number, metadata: Record<string, unknown> = {}): Promise<string> {
    const id = `send-${++n}`;
    await ds.query(
      `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, time_in_force, status,
                           metadata, created_at, updated_at)
       VALUES ($1, 'alpha', 'SEND', 'buy', '1', 'market', 'day', 'pending_new', $2,
               now() - $3 * interval '1 millisecond', now() - $3 * interval '1 millisecond')`,
      [id, JSON.stringify(metadata), ageMs],
    );
    return id;
  }

  const mark = (id: string, at = new Date()) =>
    uow.run((tx) => sends.markCancelRequested(tx, id, at, sendQuietSince(at, TIMEOUT_MS)));
  const claim = (id: string, at = new Date()) => sends.claimUnsent(id, at, sendQuietSince(at, TIMEOUT_MS));

  it('a fresh order is in its sender’s hands: the resolver cannot claim it, and a cancel finds it being sent', async () => {
    const id = await unsent(0);
    expect(await claim(id)).toBeNull();
    expect(await mark(id)).toMatchObject({ queued: false, sending: true });
  });

  it('a stale order is nobody’s: a cancel finds it not being sent, and no claim takes it after the cancel', async () => {
    const id = await unsent(60_000);
    expect(await mark(id)).toMatchObject({ queued: false, sending: false });
    expect(await claim(id)).toBeNull();
    expect(await sends.claimQueued(id, new Date())).toBeNull();
  });

  it('the resolver’s claim takes a stale order once, clears its hold and retry time, and makes it fresh', async () => {
    const lapsed = new Date(Date.now() - 1_000).toISOString();
    const id = await unsent(60_000, { paced_until: lapsed, next_attempt_at: lapsed, keep: 1 });
    const claimed = await claim(id);
    expect(claimed).toMatchObject({ clientOrderId: id, status: 'pending_new', metadata: { keep: 1 } });
    expect(Date.now() - claimed!.updatedAt.getTime()).toBeLessThan(5_000);
    expect(await claim(id)).toBeNull(); // taken: the next pass leaves it alone
    expect(await sends.claimQueued(id, new Date())).toBeNull(); // the queue's claim needs the hold
    expect(await mark(id)).toMatchObject({ sending: true });
  });

  it('a retry that is due is claimable however recent the order, and an order held in the queue is not', async () => {
    const due = await unsent(0, { next_attempt_at: new Date(Date.now() - 10).toISOString() });
    expect(await claim(due)).not.toBeNull();
    const held = await unsent(60_000, { paced_until: new Date(Date.now() + 60_000).toISOString() });
    expect(await claim(held)).toBeNull();
    expect(await mark(held)).toMatchObject({ queued: true, sending: false });
  });

  it('racing a cancel: the claim succeeds exactly when the cancel finds the order being sent', async () => {
    for (let i = 0; i < 40; i++) {
      const id = await unsent(60_000);
      const [claimed, marked] = await Promise.all([
        i % 2 ? claim(id) : new Promise((r) => setImmediate(r)).then(() => claim(id)),
        i % 2 ? new Promise((r) => setImmediate(r)).then(() => mark(id)) : mark(id),
      ]);
      expect({ claimed: claimed !== null, sending: marked?.sending }).toEqual({
        claimed: marked!.sending,
        sending: claimed !== null,
      });
    }
  });

  it('racing the queue for an order whose hold lapsed: exactly one of the two claims takes it', async () => {
    for (let i = 0; i < 40; i++) {
      const id = await unsent(60_000, { paced_until: new Date(Date.now() - 1_000).toISOString() });
      const [a, b] = await Promise.all([claim(id), sends.claimQueued(id, new Date())]);
      expect([a, b].filter((x) => x !== null)).toHaveLength(1);
    }
  });
});
