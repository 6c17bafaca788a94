import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { sql, Tx } from '../infra/database/unit-of-work';
import { AuditEntry } from './audit-entry';

/**
 * Appends to audit_log. The table refuses UPDATE, DELETE and TRUNCATE in the
 * database itself, so nothing here can rewrite history.
 */
@Injectable()
export class AuditRepository {
  constructor(private readonly ds: DataSource) {}

  /** Appends one entry, inside `tx` when one is given. */
  async append(entry: AuditEntry, tx?: Tx): Promise<void> {
    await sql(
      tx ?? this.ds,
      `INSERT INTO audit_log (action, actor, client_order_id, strategy_id, symbol, reason_code, request_id, details,
                              occurred_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, COALESCE($9::timestamptz, now()))`,
      [
        entry.action,
        entry.actor,
        entry.clientOrderId ?? null,
        entry.strategyId ?? null,
        entry.symbol ?? null,
        entry.reasonCode ?? null,
        entry.requestId ?? null,
        JSON.stringify(entry.details ?? {}),
        entry.occurredAt ?? null,
      ],
    );
  }
}
