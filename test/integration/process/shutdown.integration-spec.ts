import { auth, startTestApp } from '../../support/app';

describe('graceful shutdown', () => {
  it('finishes an in-flight order before the process lets go of the database', async () => {
    const t = await startTestApp();
    const blocker = t.db.createQueryRunner();
    await blocker.connect();
    await blocker.startTransaction();
    try {
      // Hold the orders table so the request is stuck inside its INSERT when shutdown starts.
      await blocker.query('LOCK TABLE orders IN EXCLUSIVE MODE');
      const inFlight = t.http
        .post('/api/v1/orders')
        .set(auth)
        .send({ symbol: 'AAPL', side: 'buy', qty: 7 })
        .then((r) => r);
      await waitFor(async () => {
        const rows: unknown[] = await t.db.query(
          `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO orders%'`,
        );
        return rows.length > 0;
      });
      const closing = t.app.close();
      await new Promise((r) => setTimeout(r, 200));
      await blocker.commitTransaction();
      const res = await inFlight;
      await closing;
      expect(res.status).toBe(201);
      const rows: unknown[] = await t.db.query('SELECT 1 FROM orders');
      expect(rows).toHaveLength(1);
    } finally {
      if (blocker.isTransactionActive) await blocker.rollbackTransaction();
      await blocker.release();
      await t.db.destroy();
      await t.database.drop();
    }
  });
});

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}
