import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { sql, Statement, Tx, UnitOfWork } from '../../infra/database/unit-of-work';
import { OrderEventFilter, StoredOrderEvent } from '../order-event';

export interface NewOrderEvent {
  clientOrderId: string;
  strategyId: string;
  symbol: string;
  /** `order.status` or `order.fill`. */
  eventType: string;
  status: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

export interface PublishBatchResult {
  /** Another replica held the publisher lock: nothing was claimed. */
  busy: boolean;
  claimed: number;
  published: number;
}

interface OrderEventRow {
  id: string;
  client_order_id: string;
  strategy_id: string;
  symbol: string;
  event_type: string;
  status: string;
  payload: Record<string, unknown>;
  created_at: Date;
}

/** Rows per multi-row INSERT (7 parameters each, well under PostgreSQL's 65,535). */
const MAX_ROWS_PER_INSERT = 1_000;

const COLUMNS = 'id, client_order_id, strategy_id, symbol, event_type, status, payload, created_at';

/**
 * Serializes publishing across replicas, so batches go out in id order and the
 * events of one order keep their order on the channel. An arbitrary constant
 * in the same bigint key space as the migration (7_342_001), leader
 * (7_342_002) and key-bootstrap (7_342_003) locks.
 */
const PUBLISHER_LOCK_KEY = 7_342_101;

/**
 * The publisher's claim in one statement: the publisher lock (`locked`, false
 * when another replica holds it: nothing is claimed), then up to $2 of the
 * oldest unpublished events not locked by another claimer, marked published in
 * the claiming transaction. One row with `locked` and the events' columns null
 * when there is nothing to claim.
 */
const CLAIM = `WITH l AS MATERIALIZED (SELECT pg_try_advisory_xact_lock($1) AS locked),
  c AS (
    UPDATE order_events SET published_at = now()
     WHERE id IN (SELECT o.id FROM order_events o, l
                   WHERE l.locked AND o.published_at IS NULL
                   ORDER BY o.id
                   LIMIT $2
                   FOR UPDATE OF o SKIP LOCKED)
    RETURNING ${COLUMNS}
  )
  SELECT l.locked, c.* FROM l LEFT JOIN c ON true`;

/** The outbox: events are written with the state change that caused them, published later. */
@Injectable()
export class OrderEventRepository {
  constructor(
    private readonly ds: DataSource,
    private readonly uow: UnitOfWork,
  ) {}

  async append(tx: Tx, e: NewOrderEvent): Promise<void> {
    const [{ text, values }] = this.appendManyStatements([e]);
    await sql(tx, text, values);
  }

  /**
   * Claims up to `limit` unpublished events, oldest first, and hands them to
   * `publish`, which answers how many of them, from the first, went out; only
   * those stay marked published when the short transaction that claimed them
   * commits. When `publish` throws nothing is marked and the batch is claimed
   * again later (at least once).
   *
   * Every replica may call this: a transaction-scoped advisory lock lets one
   * publish at a time (the others return `busy` at once rather than wait), and
   * FOR UPDATE SKIP LOCKED keeps two claimers off the same rows regardless.
   * The lock, the claim and the mark are one statement (CLAIM), so a batch
   * costs three round trips to PostgreSQL: that, its commit, and its start.
   */
  async publishBatch(
    limit: number,
    publish: (events: StoredOrderEvent[]) => Promise<number>,
  ): Promise<PublishBatchResult> {
    return this.uow.run(async (tx) => {
      const rows = await sql<OrderEventRow & { locked: boolean }>(tx, CLAIM, [PUBLISHER_LOCK_KEY, limit]);
      if (!rows[0]?.locked) return { busy: true, claimed: 0, published: 0 };
      // Marked in the claim; RETURNING keeps no order: oldest first again.
      const claimed = rows.filter((r) => r.id !== null).sort((a, b) => Number(a.id) - Number(b.id));
      if (!claimed.length) return { busy: false, claimed: 0, published: 0 };
      const published = Math.max(0, Math.min(claimed.length, await publish(claimed.map(toStored))));
      if (published < claimed.length) {
        // Those not sent are left unpublished by this commit (the claim marked them all).
        await sql(tx, 'UPDATE order_events SET published_at = NULL WHERE id = ANY($1::bigint[])', [
          claimed.slice(published).map((r) => r.id),
        ]);
      }
      return { busy: false, claimed: claimed.length, published };
    });
  }

  /**
   * Events after `afterId` that match `filter`, oldest first, published or
   * not: a stream client resuming from `afterId` gets everything written since.
   */
  async listAfter(afterId: number, filter: OrderEventFilter, limit: number): Promise<StoredOrderEvent[]> {
    const where = ['id > $1'];
    const params: unknown[] = [afterId];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.strategyScope) add('strategy_id = ANY(?)', [...filter.strategyScope]);
    if (filter.strategyId !== undefined) add('strategy_id = ?', filter.strategyId);
    if (filter.symbol !== undefined) add('symbol = ?', filter.symbol);
    params.push(limit);
    const rows: OrderEventRow[] = await this.ds.query(
      `SELECT ${COLUMNS} FROM order_events WHERE ${where.join(' AND ')} ORDER BY id LIMIT $${params.length}`,
      params,
    );
    return rows.map(toStored);
  }

  /**
   * Unpublished events (counted up to `cap`, so a scrape stays cheap however
   * large the backlog) and the age of the oldest on the database's clock.
   */
  async backlog(cap: number): Promise<{ count: number; oldestAgeSeconds: number }> {
    const rows: Array<{ n: string; age: string | null }> = await this.ds.query(
      `SELECT (SELECT count(*) FROM (SELECT 1 FROM order_events WHERE published_at IS NULL LIMIT $1) c) AS n,
              (SELECT GREATEST(0, EXTRACT(EPOCH FROM now() - created_at))
                 FROM order_events WHERE published_at IS NULL ORDER BY id LIMIT 1) AS age`,
      [cap],
    );
    return { count: Number(rows[0]?.n ?? 0), oldestAgeSeconds: Number(rows[0]?.age ?? 0) };
  }

  /** The highest event id written so far (0 for none). */
  async maxId(): Promise<number> {
    const rows: Array<{ id: string | null }> = await this.ds.query('SELECT max(id) AS id FROM order_events');
    return Number(rows[0]?.id ?? 0);
  }

  /** Every event with `afterId < id <= throughId`, oldest first, at most `limit`: what the live fan-out reads. */
  async listRange(afterId: number, throughId: number, limit: number): Promise<StoredOrderEvent[]> {
    const rows: OrderEventRow[] = await this.ds.query(
      `SELECT ${COLUMNS} FROM order_events WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3`,
      [afterId, throughId, limit],
    );
    return rows.map(toStored);
  }

  /**
   * The events with these ids that are being published: not yet marked
   * published, or marked within the last `recentSeconds` (the message goes out
   * just before the mark commits). An old event announced again is not one.
   * Oldest first.
   */
  async findAnnounced(ids: readonly number[], recentSeconds: number): Promise<StoredOrderEvent[]> {
    if (!ids.length) return [];
    const rows: OrderEventRow[] = await this.ds.query(
      `SELECT ${COLUMNS} FROM order_events
        WHERE id = ANY($1::bigint[])
          AND (published_at IS NULL OR published_at > now() - make_interval(secs => $2))
        ORDER BY id`,
      [ids.map(String), recentSeconds],
    );
    return rows.map(toStored);
  }

  /**
   * Appends these events, one statement per MAX_ROWS_PER_INSERT of them, their ids in the order given (the rows of a
   * VALUES list are inserted, and take their ids, in list order).
   */
  appendManyStatements(events: readonly NewOrderEvent[]): Statement[] {
    const out: Statement[] = [];
    for (let i = 0; i < events.length; i += MAX_ROWS_PER_INSERT) {
      const chunk = events.slice(i, i + MAX_ROWS_PER_INSERT);
      const values: unknown[] = [];
      const rows = chunk.map((e) => {
        values.push(
          e.clientOrderId,
          e.strategyId,
          e.symbol,
          e.eventType,
          e.status,
          JSON.stringify(e.payload),
          e.createdAt,
        );
        const n = values.length;
        return `($${n - 6}, $${n - 5}, $${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n})`;
      });
      out.push({
        text: `INSERT INTO order_events (client_order_id, strategy_id, symbol, event_type, status, payload, created_at)
           VALUES ${rows.join(', ')}`,
        values,
      });
    }
    return out;
  }
}

function toStored(r: OrderEventRow): StoredOrderEvent {
  return {
    id: Number(r.id),
    clientOrderId: r.client_order_id,
    strategyId: r.strategy_id,
    symbol: r.symbol,
    eventType: r.event_type,
    status: r.status,
    payload: r.payload,
    createdAt: r.created_at,
  };
}
