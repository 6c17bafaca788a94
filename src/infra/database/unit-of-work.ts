/**
 * The one transaction abstraction. A use case opens a unit of work and hands
 * its `Tx` to the repositories that write in it; the `Tx` is opaque, so no
 * TypeORM EntityManager or pg PoolClient leaks into a signature. Repositories
 * run their SQL through `sql` / `prepared` on either the DataSource (a
 * statement of its own) or a `Tx`.
 *
 * Rules: keep a unit of work short; nothing slow (a broker call, market data)
 * runs inside one.
 */
import { Injectable } from '@nestjs/common';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { DataSource } from 'typeorm';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

declare const TX_BRAND: unique symbol;

/** An open transaction. Opaque: only this file looks inside. */
export interface Tx {
  readonly [TX_BRAND]: 'Tx';
}

declare const LEASE_BRAND: unique symbol;

/**
 * A pooled connection held outside any transaction, for session-level state
 * that must outlive one (an advisory lock held for the whole of a long run).
 * Opaque like `Tx`; given back with `UnitOfWork.release`.
 */
export interface Lease {
  readonly [LEASE_BRAND]: 'Lease';
}

/** Where a statement runs: on its own (the DataSource), inside an open unit of work, or on a lease. */
export type Db = DataSource | Tx | Lease;

function poolOf(ds: DataSource): Pool {
  return (ds.driver as PostgresDriver).master as Pool;
}

function target(db: Db): Pool | PoolClient {
  return db instanceof DataSource ? poolOf(db) : (db as unknown as PoolClient);
}

/** Runs one statement and answers its rows. */
export async function sql<R extends QueryResultRow = QueryResultRow>(
  db: Db,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const result = await target(db).query<R>(text, values);
  return result.rows;
}

/** A statement and its parameters: run alone (`sql`) or with others as one (`sqlTogether`). */
export interface Statement {
  text: string;
  values: unknown[];
}

/**
 * Runs several data-changing statements as one, in one round trip: each becomes
 * a WITH query of the statement (every one runs once, on the same snapshot, its
 * row triggers firing at the statement's end), its parameters renumbered after
 * the ones before it. The texts must use parameters only as `$n` (no dollar
 * quoting). Answers, by name, how many rows each statement marked `count`
 * returned (it must end with a RETURNING clause).
 */
export async function sqlTogether(
  db: Db,
  parts: ReadonlyArray<{ name: string; statement: Statement; count?: boolean }>,
): Promise<Record<string, number>> {
  if (!parts.length) return {};
  const values: unknown[] = [];
  const queries = parts.map(({ name, statement }) => {
    const offset = values.length;
    values.push(...statement.values);
    const text = statement.text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
    return `${name} AS (${text})`;
  });
  const counted = parts.filter((p) => p.count).map((p) => p.name);
  const select = counted.length ? counted.map((n) => `(SELECT count(*)::int FROM ${n}) AS ${n}`).join(', ') : '1';
  const [row] = await sql<Record<string, number>>(db, `WITH ${queries.join(',\n')}\nSELECT ${select}`, values);
  return Object.fromEntries(counted.map((n) => [n, Number(row[n])]));
}

/** Runs one statement and answers how many rows it changed. */
export async function sqlCount(db: Db, text: string, values: unknown[] = []): Promise<number> {
  const result = await target(db).query(text, values);
  return result.rowCount ?? 0;
}

/**
 * Runs a statement as a named prepared statement: each pooled connection parses
 * and plans it once. For hot statements only (the order insert): planning its
 * CTE costs PostgreSQL more than executing it. The statement must not use
 * `RETURNING *` or `SELECT *`, so a later migration cannot change its shape
 * under a running replica.
 */
export async function prepared<R extends QueryResultRow = QueryResultRow>(
  db: Db,
  name: string,
  text: string,
  values: unknown[],
): Promise<R[]> {
  const result = await target(db).query<R>({ name, text, values });
  return result.rows;
}

/**
 * Opens units of work: `run(fn)` runs `fn` in a transaction on one pooled
 * connection, commits when it resolves and rolls back when it throws (a
 * connection whose rollback failed is discarded, not reused).
 */
@Injectable()
export class UnitOfWork {
  private readonly leases = new WeakMap<PoolClient, { broken: boolean; onError: () => void }>();

  constructor(private readonly ds: DataSource) {}

  async run<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const client = await poolOf(this.ds).connect();
    let broken = false;
    // A connection lost while checked out (no query running) is reported as an
    // 'error' event: unheard, it would crash the process. The next query fails
    // and the connection is discarded, not reused.
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await fn(client as unknown as Tx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  /** `sqlTogether` in `tx`: several writes as one statement (one round trip). */
  together(
    tx: Tx,
    parts: ReadonlyArray<{ name: string; statement: Statement; count?: boolean }>,
  ): Promise<Record<string, number>> {
    return sqlTogether(tx, parts);
  }

  /**
   * Holds a pooled connection of its own until `release`. Session state set
   * on it (an advisory lock) lasts until it is released: release it in a
   * `finally`, and pass `discard` when that state could not be cleared, so
   * the connection is closed rather than handed to the next user still
   * holding it.
   */
  async lease(): Promise<Lease> {
    const client = await poolOf(this.ds).connect();
    // As in run(): a lost connection must not crash the process, and is never reused.
    const state = { broken: false, onError: () => (state.broken = true) };
    client.on('error', state.onError);
    this.leases.set(client, state);
    return client as unknown as Lease;
  }

  release(lease: Lease, opts: { discard?: boolean } = {}): void {
    const client = lease as unknown as PoolClient;
    const state = this.leases.get(client);
    this.leases.delete(client);
    if (state) client.removeListener('error', state.onError);
    client.release(opts.discard === true || state?.broken === true);
  }
}
