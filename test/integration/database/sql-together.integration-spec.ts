/**
 * sqlTogether (src/infra/database/unit-of-work.ts): several writes run as one
 * statement, their parameters renumbered, each counted when asked; all or none.
 */
import { DataSource } from 'typeorm';
import { createDataSource } from '../../../src/infra/database/data-source';
import { sql, sqlTogether, UnitOfWork } from '../../../src/infra/database/unit-of-work';
import { createTestDatabase, TestDatabase } from '../../support/database';

describe('sqlTogether (integration)', () => {
  let database: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    database = await createTestDatabase();
    ds = createDataSource({ url: database.url, poolSize: 2 });
    await ds.initialize();
    await ds.query('CREATE TABLE together_a (k text PRIMARY KEY, n numeric)');
    await ds.query('CREATE TABLE together_b (k text, at timestamptz)');
  });

  afterAll(async () => {
    await ds.destroy();
    await database.drop();
  });

  it('runs every statement once with its own parameters, and counts the rows of those asked', async () => {
    const at = new Date('2026-03-02T15:00:00.123Z');
    await ds.query(`INSERT INTO together_a VALUES ('taken', 1)`);
    const counts = await sqlTogether(ds, [
      {
        name: 'a',
        statement: {
          text: 'INSERT INTO together_a (k, n) SELECT * FROM unnest($1::text[], $2::numeric[]) ON CONFLICT DO NOTHING RETURNING k',
          values: [
            ['x', 'taken', 'y'],
            ['1.5', '2', '3.25'],
          ],
        },
        count: true,
      },
      {
        name: 'b',
        statement: { text: 'INSERT INTO together_b (k, at) VALUES ($1, $2), ($3, $2)', values: ['p', at, 'q'] },
      },
      { name: 'c', statement: { text: 'UPDATE together_a SET n = n + $1 WHERE k = $2', values: [10, 'taken'] } },
    ]);
    expect(counts).toEqual({ a: 2 });
    expect(await sql(ds, 'SELECT k, n::text AS n FROM together_a ORDER BY k')).toEqual([
      { k: 'taken', n: '11' },
      { k: 'x', n: '1.5' },
      { k: 'y', n: '3.25' },
    ]);
    expect(await sql(ds, 'SELECT k, at FROM together_b ORDER BY k')).toEqual([
      { k: 'p', at },
      { k: 'q', at },
    ]);
  });

  it('is one statement: a failing part writes nothing of the others', async () => {
    const before = await sql(ds, 'SELECT count(*)::int AS n FROM together_b');
    await expect(
      new UnitOfWork(ds).run((tx) =>
        sqlTogether(tx, [
          { name: 'b', statement: { text: 'INSERT INTO together_b (k) VALUES ($1)', values: ['r'] } },
          { name: 'a', statement: { text: 'INSERT INTO together_a (k, n) VALUES ($1, $2)', values: ['x', 1] } },
        ]),
      ),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await sql(ds, 'SELECT count(*)::int AS n FROM together_b')).toEqual(before);
  });
});
