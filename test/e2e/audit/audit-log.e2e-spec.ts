/**
 * The audit trail is append-only in the database itself (docs/architecture.md#everything-audited, docs/api.md):
 * UPDATE, DELETE and TRUNCATE on audit_log raise an error whatever role
 * connects, and the rows are unchanged afterwards.
 */
import { randomBytes } from 'node:crypto';
import { auth, startTestApp, TestApp } from '../../support/app';

type AuditRow = Record<string, unknown>;

describe('audit_log is append-only (e2e)', () => {
  let t: TestApp;
  let clientOrderId: string;
  let snapshot: AuditRow[];

  const readAll = (): Promise<AuditRow[]> => t.db.query('SELECT * FROM audit_log ORDER BY id');
  const appendOnly = expect.objectContaining({
    message: expect.stringMatching(/audit_log is append-only/),
    code: '42501',
  });

  beforeAll(async () => {
    t = await startTestApp();
    const res = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'AAPL', side: 'buy', qty: 1 });
    expect(res.status).toBe(201);
    clientOrderId = res.body.client_order_id;
    snapshot = await readAll();
    expect(snapshot).toHaveLength(1);
    expect(snapshot[0]).toMatchObject({ action: 'order.accepted', client_order_id: clientOrderId });
  });
  afterAll(async () => {
    await t?.close();
  });
  afterEach(async () => {
    expect(await readAll()).toEqual(snapshot);
  });

  it('refuses UPDATE', async () => {
    await expect(
      t.db.query(`UPDATE audit_log SET action = 'order.rewritten', actor = 'mallory' WHERE client_order_id = $1`, [
        clientOrderId,
      ]),
    ).rejects.toEqual(appendOnly);
  });

  it('refuses UPDATE of the details alone', async () => {
    await expect(t.db.query(`UPDATE audit_log SET details = '{}'::jsonb`)).rejects.toEqual(appendOnly);
  });

  it('refuses DELETE', async () => {
    await expect(t.db.query('DELETE FROM audit_log WHERE client_order_id = $1', [clientOrderId])).rejects.toEqual(
      appendOnly,
    );
  });

  it('refuses DELETE of everything', async () => {
    await expect(t.db.query('DELETE FROM audit_log')).rejects.toEqual(appendOnly);
  });

  it('refuses TRUNCATE', async () => {
    await expect(t.db.query('TRUNCATE audit_log')).rejects.toEqual(appendOnly);
  });

  it('refuses TRUNCATE ... CASCADE', async () => {
    await expect(t.db.query('TRUNCATE TABLE audit_log RESTART IDENTITY CASCADE')).rejects.toEqual(appendOnly);
  });

  it('refuses them to a non-superuser role granted every privilege on the table', async () => {
    const role = `eg_audit_probe_${randomBytes(4).toString('hex')}`;
    await t.db.query(`CREATE ROLE ${role} NOLOGIN`);
    try {
      await t.db.query(`GRANT ALL ON audit_log TO ${role}`);
      for (const sql of [`UPDATE audit_log SET actor = 'mallory'`, 'DELETE FROM audit_log', 'TRUNCATE audit_log']) {
        const runner = t.db.createQueryRunner();
        try {
          await runner.startTransaction();
          await runner.query(`SET LOCAL ROLE ${role}`);
          await expect(runner.query(sql)).rejects.toEqual(appendOnly);
        } finally {
          await runner.rollbackTransaction();
          await runner.release();
        }
      }
    } finally {
      await t.db.query(`DROP OWNED BY ${role}`);
      await t.db.query(`DROP ROLE ${role}`);
    }
  });

  it('still accepts appends', async () => {
    const runner = t.db.createQueryRunner();
    try {
      await runner.startTransaction();
      await runner.query(`INSERT INTO audit_log (action, actor) VALUES ('probe.append', 'test')`);
      const rows: Array<{ n: string }> = await runner.query('SELECT count(*) AS n FROM audit_log');
      expect(Number(rows[0].n)).toBe(snapshot.length + 1);
    } finally {
      // Rolled back so the table is as the other tests left it.
      await runner.rollbackTransaction();
      await runner.release();
    }
  });
});
