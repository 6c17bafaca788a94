import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db, sql, sqlCount, Tx } from '../../infra/database/unit-of-work';
import { OPEN_STATUSES } from '../../trading/order-state-machine';
import { OrderSide, OrderStatus, OrderType, TimeInForce } from '../../trading/order-status';
import { SliceSnapshot, SliceState } from '../domain/carry-forward';
import { PlannedSlice } from '../domain/twap-plan';

export const PLAN_STATUSES = ['scheduled', 'active', 'completed', 'canceled', 'expired'] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];

export interface TwapPlan {
  parentOrderId: string;
  strategyId: string;
  symbol: string;
  side: OrderSide;
  totalQty: number;
  orderType: OrderType;
  limitPrice: string | null;
  stopPrice: string | null;
  timeInForce: TimeInForce;
  durationMinutes: number;
  intervalSeconds: number;
  totalSlices: number;
  status: PlanStatus;
  arrivalPrice: string | null;
  createdBy: string;
  createdAt: Date;
  endedAt: Date | null;
  shortfallQty: number | null;
}

/** What became of a `sending` slice. */
export interface SliceOutcome {
  clientOrderId: string;
  state: SliceState;
  reasonCode: string | null;
  sentAt: Date | null;
}

/** A slice with its child order, as the plan view and the dispatcher read it. */
export interface SliceRow extends SliceSnapshot {
  clientOrderId: string;
  claimedAt: Date | null;
  sentAt: Date | null;
  reasonCode: string | null;
  childStatus: OrderStatus | null;
  childFilledAvgPrice: string | null;
}

interface PlanRow {
  parent_order_id: string;
  strategy_id: string;
  symbol: string;
  side: OrderSide;
  total_qty: number;
  order_type: OrderType;
  limit_price: string | null;
  stop_price: string | null;
  time_in_force: TimeInForce;
  duration_minutes: number;
  interval_seconds: number;
  total_slices: number;
  status: PlanStatus;
  arrival_price: string | null;
  created_by: string;
  created_at: Date;
  ended_at: Date | null;
  shortfall_qty: number | null;
}

interface SliceDbRow {
  client_order_id: string;
  slice_num: number;
  planned_qty: number;
  scheduled_time: Date;
  state: SliceState;
  sent_qty: number | null;
  claimed_at: Date | null;
  sent_at: Date | null;
  reason_code: string | null;
  child_status: OrderStatus | null;
  child_filled_qty: string | null;
  child_filled_avg_price: string | null;
}

const PLAN_COLUMNS = `parent_order_id, strategy_id, symbol, side, total_qty, order_type, limit_price::text AS limit_price,
  stop_price::text AS stop_price, time_in_force, duration_minutes, interval_seconds, total_slices, status,
  arrival_price::text AS arrival_price, created_by, created_at, ended_at, shortfall_qty`;

const OPEN_LIST = [...OPEN_STATUSES];

/** The twap_plans and twap_slices tables; a slice's child order is read from `orders` by its id. */
@Injectable()
export class TwapRepository {
  constructor(private readonly ds: DataSource) {}

  /** Inserts the plan and its slices; false (nothing written) when the parent id exists. */
  async insertPlan(tx: Tx, plan: TwapPlan, slices: PlannedSlice[], sliceIds: string[]): Promise<boolean> {
    const inserted = await sqlCount(
      tx,
      `INSERT INTO twap_plans (parent_order_id, strategy_id, symbol, side, total_qty, order_type, limit_price,
         stop_price, time_in_force, duration_minutes, interval_seconds, total_slices, status, arrival_price,
         created_by, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
       ON CONFLICT (parent_order_id) DO NOTHING`,
      [
        plan.parentOrderId,
        plan.strategyId,
        plan.symbol,
        plan.side,
        plan.totalQty,
        plan.orderType,
        plan.limitPrice,
        plan.stopPrice,
        plan.timeInForce,
        plan.durationMinutes,
        plan.intervalSeconds,
        plan.totalSlices,
        plan.status,
        plan.arrivalPrice,
        plan.createdBy,
        plan.createdAt,
      ],
    );
    if (!inserted) return false;
    await sql(
      tx,
      `INSERT INTO twap_slices (client_order_id, parent_order_id, slice_num, planned_qty, scheduled_time, state)
       SELECT id, $1, num, qty, at, 'scheduled'
         FROM unnest($2::text[], $3::int[], $4::int[], $5::timestamptz[]) AS s(id, num, qty, at)`,
      [
        plan.parentOrderId,
        sliceIds,
        slices.map((s) => s.sliceNum),
        slices.map((s) => s.qty),
        slices.map((s) => s.scheduledTime),
      ],
    );
    return true;
  }

  async findPlan(parentOrderId: string, db: Db = this.ds): Promise<TwapPlan | null> {
    const rows = await sql<PlanRow>(db, `SELECT ${PLAN_COLUMNS} FROM twap_plans WHERE parent_order_id = $1`, [
      parentOrderId,
    ]);
    return rows.length ? toPlan(rows[0]) : null;
  }

  /** The live (scheduled or active) plans of one strategy, oldest first. */
  async livePlanIdsOf(strategyId: string): Promise<string[]> {
    const rows = await sql<{ parent_order_id: string }>(
      this.ds,
      `SELECT parent_order_id FROM twap_plans
        WHERE strategy_id = $1 AND status IN ('scheduled', 'active') ORDER BY created_at`,
      [strategyId],
    );
    return rows.map((r) => r.parent_order_id);
  }

  /** Locks the plan row (waiting for a dispatcher tick holding it). */
  async lockPlan(tx: Tx, parentOrderId: string): Promise<TwapPlan | null> {
    const rows = await sql<PlanRow>(
      tx,
      `SELECT ${PLAN_COLUMNS} FROM twap_plans WHERE parent_order_id = $1 FOR UPDATE`,
      [parentOrderId],
    );
    return rows.length ? toPlan(rows[0]) : null;
  }

  /**
   * Locks up to `limit` live plans with a slice due at `now` (or a claim left
   * `sending` since before `staleBefore`), skipping plans another replica holds.
   */
  async lockDuePlans(tx: Tx, now: Date, staleBefore: Date, limit: number): Promise<TwapPlan[]> {
    const rows = await sql<PlanRow>(
      tx,
      `SELECT ${PLAN_COLUMNS} FROM twap_plans
        WHERE parent_order_id IN (
                SELECT parent_order_id FROM twap_slices WHERE state = 'scheduled' AND scheduled_time <= $1
                UNION
                SELECT parent_order_id FROM twap_slices WHERE state = 'sending' AND claimed_at < $2)
          AND status IN ('scheduled', 'active')
        ORDER BY created_at
        LIMIT $3
        FOR UPDATE SKIP LOCKED`,
      [now, staleBefore, limit],
    );
    return rows.map(toPlan);
  }

  /** Live plans nothing is due in that may have settled, locked (SKIP LOCKED). */
  async lockSettleCandidates(tx: Tx, limit: number): Promise<TwapPlan[]> {
    const rows = await sql<PlanRow>(
      tx,
      `SELECT ${PLAN_COLUMNS} FROM twap_plans p
        WHERE status IN ('scheduled', 'active')
          AND NOT EXISTS (SELECT 1 FROM twap_slices s
                           WHERE s.parent_order_id = p.parent_order_id AND s.state IN ('scheduled', 'sending'))
          AND NOT EXISTS (SELECT 1 FROM twap_slices s JOIN orders o ON o.client_order_id = s.client_order_id
                           WHERE s.parent_order_id = p.parent_order_id AND o.status = ANY($1::text[]))
        ORDER BY created_at
        LIMIT $2
        FOR UPDATE SKIP LOCKED`,
      [OPEN_LIST, limit],
    );
    return rows.map(toPlan);
  }

  async slicesOf(parentOrderIds: string[], db: Db = this.ds): Promise<Map<string, SliceRow[]>> {
    const rows = await sql<SliceDbRow & { parent_order_id: string }>(
      db,
      `SELECT s.parent_order_id, s.client_order_id, s.slice_num, s.planned_qty, s.scheduled_time, s.state,
              s.sent_qty, s.claimed_at, s.sent_at, s.reason_code, o.status AS child_status,
              o.filled_qty::text AS child_filled_qty, o.filled_avg_price::text AS child_filled_avg_price
         FROM twap_slices s LEFT JOIN orders o ON o.client_order_id = s.client_order_id
        WHERE s.parent_order_id = ANY($1::text[])
        ORDER BY s.parent_order_id, s.slice_num`,
      [parentOrderIds],
    );
    const out = new Map<string, SliceRow[]>(parentOrderIds.map((id) => [id, []]));
    for (const r of rows) out.get(r.parent_order_id)?.push(toSlice(r));
    return out;
  }

  async setPlanStatus(
    db: Db,
    parentOrderId: string,
    status: PlanStatus,
    end?: { at: Date; shortfallQty: number | null },
  ): Promise<void> {
    await sql(
      db,
      `UPDATE twap_plans SET status = $2, ended_at = COALESCE($3, ended_at), shortfall_qty = COALESCE($4, shortfall_qty)
        WHERE parent_order_id = $1`,
      [parentOrderId, status, end?.at ?? null, end?.shortfallQty ?? null],
    );
  }

  /** Marks scheduled plans `active` (their first slice was claimed), in one statement. */
  async activate(tx: Tx, parentOrderIds: string[]): Promise<void> {
    if (!parentOrderIds.length) return;
    await sql(
      tx,
      `UPDATE twap_plans SET status = 'active' WHERE parent_order_id = ANY($1::text[]) AND status = 'scheduled'`,
      [parentOrderIds],
    );
  }

  /** Marks the slices `sending` with their quantities fixed, in one statement. */
  async claim(tx: Tx, claims: Array<{ clientOrderId: string; qty: number }>, at: Date): Promise<void> {
    if (!claims.length) return;
    await sql(
      tx,
      `UPDATE twap_slices s SET state = 'sending', sent_qty = c.qty, claimed_at = $3
         FROM unnest($1::text[], $2::int[]) AS c(id, qty)
        WHERE s.client_order_id = c.id`,
      [claims.map((c) => c.clientOrderId), claims.map((c) => c.qty), at],
    );
  }

  /**
   * What became of `sending` slices, in one statement for many (the
   * dispatcher's senders hand their outcomes to one writer): each slice's
   * state, and the plan link on its child order when that order lacks it (one
   * written by an earlier version, which linked it only after the door
   * answered; the door now writes it with the order). Answers each recorded
   * slice's plan status; a slice no longer `sending` is absent.
   */
  async recordOutcomes(outcomes: SliceOutcome[]): Promise<Map<string, PlanStatus>> {
    if (!outcomes.length) return new Map();
    const rows = await sql<{ client_order_id: string; status: PlanStatus }>(
      this.ds,
      `WITH o AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS o(id, state, reason, sent_at)
       ), s AS (
         UPDATE twap_slices t SET state = o.state, reason_code = COALESCE(o.reason, t.reason_code),
                sent_at = COALESCE(o.sent_at, t.sent_at)
           FROM o WHERE t.client_order_id = o.id AND t.state = 'sending'
          RETURNING t.client_order_id, t.parent_order_id, t.slice_num, t.scheduled_time
       ), link AS (
         UPDATE orders ord SET parent_order_id = s.parent_order_id, slice_num = s.slice_num,
                total_slices = p.total_slices, scheduled_time = s.scheduled_time
           FROM s JOIN twap_plans p USING (parent_order_id)
          WHERE ord.client_order_id = s.client_order_id AND ord.parent_order_id IS NULL
       )
       SELECT s.client_order_id, p.status FROM s JOIN twap_plans p USING (parent_order_id)`,
      [
        outcomes.map((o) => o.clientOrderId),
        outcomes.map((o) => o.state),
        outcomes.map((o) => o.reasonCode),
        outcomes.map((o) => o.sentAt),
      ],
    );
    return new Map(rows.map((r) => [r.client_order_id, r.status]));
  }

  /** Marks a `sending` claim as taken up again (after a restart). */
  async reclaim(tx: Tx, clientOrderId: string, at: Date): Promise<void> {
    await sql(tx, `UPDATE twap_slices SET claimed_at = $2 WHERE client_order_id = $1 AND state = 'sending'`, [
      clientOrderId,
      at,
    ]);
  }

  async setState(
    db: Db | undefined,
    clientOrderId: string,
    state: SliceState,
    opts: { reasonCode?: string | null; sentAt?: Date | null; from?: SliceState[] } = {},
  ): Promise<boolean> {
    const n = await sqlCount(
      db ?? this.ds,
      `UPDATE twap_slices SET state = $2, reason_code = COALESCE($3, reason_code), sent_at = COALESCE($4, sent_at)
        WHERE client_order_id = $1 AND ($5::text[] IS NULL OR state = ANY($5::text[]))`,
      [clientOrderId, state, opts.reasonCode ?? null, opts.sentAt ?? null, opts.from ?? null],
    );
    return n > 0;
  }

  /** Stops every unsent slice of the plan; answers their ids. */
  async cancelUnsent(tx: Tx, parentOrderId: string): Promise<string[]> {
    const rows = await sql<{ client_order_id: string }>(
      tx,
      `UPDATE twap_slices SET state = 'canceled', reason_code = 'PLAN_CANCELED'
        WHERE parent_order_id = $1 AND state = 'scheduled' RETURNING client_order_id`,
      [parentOrderId],
    );
    return rows.map((r) => r.client_order_id);
  }

  /** Claimed slices of a canceled plan that were never sent: `canceled` too. */
  async stopClaims(clientOrderIds: string[]): Promise<void> {
    await sql(
      this.ds,
      `UPDATE twap_slices SET state = 'canceled', reason_code = 'PLAN_CANCELED'
        WHERE client_order_id = ANY($1::text[]) AND state = 'sending'`,
      [clientOrderIds],
    );
  }

  /** When the earliest unsent slice of a live plan falls due (null: none). */
  async nextDue(): Promise<Date | null> {
    const rows = await sql<{ at: Date | null }>(
      this.ds,
      `SELECT min(scheduled_time) AS at FROM twap_slices WHERE state = 'scheduled'`,
    );
    return rows[0]?.at ?? null;
  }

  async countPlansByStatus(): Promise<Record<string, number>> {
    const rows = await sql<{ status: string; n: string }>(
      this.ds,
      `SELECT status, count(*) AS n FROM twap_plans GROUP BY status`,
    );
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }
}

function toPlan(r: PlanRow): TwapPlan {
  return {
    parentOrderId: r.parent_order_id,
    strategyId: r.strategy_id,
    symbol: r.symbol,
    side: r.side,
    totalQty: r.total_qty,
    orderType: r.order_type,
    limitPrice: r.limit_price,
    stopPrice: r.stop_price,
    timeInForce: r.time_in_force,
    durationMinutes: r.duration_minutes,
    intervalSeconds: r.interval_seconds,
    totalSlices: r.total_slices,
    status: r.status,
    arrivalPrice: r.arrival_price,
    createdBy: r.created_by,
    createdAt: r.created_at,
    endedAt: r.ended_at,
    shortfallQty: r.shortfall_qty,
  };
}

function toSlice(r: SliceDbRow): SliceRow {
  const open = r.child_status !== null && OPEN_STATUSES.has(r.child_status);
  return {
    sliceNum: r.slice_num,
    plannedQty: r.planned_qty,
    scheduledTime: r.scheduled_time,
    state: r.state,
    sentQty: r.sent_qty,
    child:
      r.child_status === null
        ? null
        : { open, filledQty: Number(r.child_filled_qty ?? '0'), dryRun: r.child_status === 'dry_run' },
    clientOrderId: r.client_order_id,
    claimedAt: r.claimed_at,
    sentAt: r.sent_at,
    reasonCode: r.reason_code,
    childStatus: r.child_status,
    childFilledAvgPrice: r.child_filled_avg_price,
  };
}
