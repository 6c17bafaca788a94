/**
 * Who sends an unsent order, and the cancel request that competes with them
 * (../domain/send-window.ts, docs/order-lifecycle.md#cancels): the broker-budget
 * queue's hold and claim, the resolver's find and claim, and the cancel's mark.
 * Each is one UPDATE of the order's row, so for one order they happen one
 * after the other, and each sees what the one before it did.
 */
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { sql, Tx } from '../../infra/database/unit-of-work';
import { Order } from '../../trading/order';
import { COLUMNS, OrderRow, toOrder } from './order-row';

/** The order is held in the broker-budget queue at `now` (a parameter such as `$2`). */
const held = (now: string) => `(metadata ? 'paced_until' AND (metadata->>'paced_until')::timestamptz > ${now})`;

/**
 * The order is the resolver's to send at `now`: `pending_new`, no leg (a leg is sent with its entry), in
 * nobody's hands (unchanged since `quietSince`, or its 429 retry due) and not held in the queue.
 */
const dispatchable = (now: string, quietSince: string) => `status = 'pending_new' AND leg_type IS NULL
  AND (updated_at < ${quietSince}
       OR (metadata ? 'next_attempt_at' AND (metadata->>'next_attempt_at')::timestamptz <= ${now}))
  AND NOT ${held(now)}`;

@Injectable()
export class OrderSendRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Records a cancel request, so a send in flight, or a later resend, cancels at the broker at once. Answers
   * the order's strategy and symbol (for its audit row), and, from the row as this statement found it:
   * `queued`, it waits in the broker-budget queue, never sent, and now never will be (the queue's claim
   * refuses it); `sending`, it is `pending_new` and may be in a sender's hands (changed since `quietSince`,
   * ../domain/send-window.ts), so only the broker's word may end it. Null when there is no such order.
   */
  async markCancelRequested(
    tx: Tx,
    clientOrderId: string,
    at: Date,
    quietSince: Date,
  ): Promise<{ strategyId: string; symbol: string; queued: boolean; sending: boolean } | null> {
    const rows = await sql<{ strategy_id: string; symbol: string; queued: boolean; sending: boolean }>(
      tx,
      `UPDATE orders SET metadata = jsonb_set(metadata, '{cancel_requested_at}', to_jsonb($2::timestamptz))
        WHERE client_order_id = $1
        RETURNING strategy_id, symbol, (status = 'pending_new' AND ${held('$2')}) AS queued,
          (status = 'pending_new' AND updated_at >= $3 AND NOT ${held('$2')}) AS sending`,
      [clientOrderId, at, quietSince],
    );
    if (!rows.length) return null;
    const r = rows[0];
    return { strategyId: r.strategy_id, symbol: r.symbol, queued: r.queued, sending: r.sending };
  }

  /**
   * A written-ahead order queued for the broker budget (docs/broker-pacing.md):
   * held back from the resolver of unsent orders until `until`, when a crash
   * has lost its place in the queue.
   */
  async holdForPacing(clientOrderId: string, until: Date): Promise<void> {
    await this.ds.query(
      `UPDATE orders SET metadata = jsonb_set(metadata, '{paced_until}', to_jsonb($2::timestamptz))
        WHERE client_order_id = $1 AND status = 'pending_new'`,
      [clientOrderId, until],
    );
  }

  /**
   * Takes a queued order for sending: only while it is still queued,
   * `pending_new`, and no cancel was asked for (a cancel that finds it still
   * queued ends it locally). Null when it is no longer this queue's to send.
   */
  async claimQueued(clientOrderId: string, at: Date): Promise<Order | null> {
    const rows = await sql<OrderRow>(
      this.ds,
      `UPDATE orders SET metadata = metadata - 'paced_until', updated_at = $2
        WHERE client_order_id = $1 AND status = 'pending_new' AND metadata ? 'paced_until'
          AND NOT metadata ? 'cancel_requested_at'
        RETURNING ${COLUMNS}`,
      [clientOrderId, at],
    );
    return rows.length ? toOrder(rows[0]) : null;
  }

  /**
   * Takes an unsent order for the resolver to send (../domain/send-window.ts): only while it is still
   * `pending_new`, in nobody's hands (unchanged since `quietSince`, or its retry due), not held in the
   * broker-budget queue, and with no cancel asked for. Its `updated_at` moves to `at`, so a cancel from now
   * on finds it being sent, and the queue's claim (which needs the hold) and the next pass find it taken.
   * Null when it is not the resolver's to send.
   */
  async claimUnsent(clientOrderId: string, at: Date, quietSince: Date): Promise<Order | null> {
    const rows = await sql<OrderRow>(
      this.ds,
      `UPDATE orders SET metadata = metadata - 'paced_until' - 'next_attempt_at', updated_at = $2
        WHERE client_order_id = $1 AND ${dispatchable('$2', '$3')} AND NOT metadata ? 'cancel_requested_at'
        RETURNING ${COLUMNS}`,
      [clientOrderId, at, quietSince],
    );
    return rows.length ? toOrder(rows[0]) : null;
  }

  /**
   * Written-ahead orders nobody is sending any more (`dispatchable`): untouched since `before` (a crash, or
   * an answer that never came), or whose 429 retry time is due, oldest first.
   */
  async findDispatchable(now: Date, before: Date, limit: number): Promise<Order[]> {
    const rows: OrderRow[] = await this.ds.query(
      `SELECT ${COLUMNS} FROM orders
        WHERE ${dispatchable('$1', '$2')} ORDER BY updated_at LIMIT $3`,
      [now, before, limit],
    );
    return rows.map(toOrder);
  }
}
