import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { sql, Tx } from '../infra/database/unit-of-work';
import { AuditEntry } from './audit-entry';

/**
 * The audit row of a row just inserted by a CTE named `source`, in the same
 * statement: for the hot path (the order insert), where a second statement
 * would cost a round trip and a transaction. `source` must yield
 * client_order_id, strategy_id and symbol; `$action`, `$actor`, `$requestId`,
 * `$details` and `$occurredAt` name the statement's parameters. The audit_log
 * SQL stays here, with the table's owner.
 */
export function auditRowOf(
  source: string,
  p: { action: string; actor: string; requestId: string; details: string; occurredAt: string; reasonCode?: string },
): string {
  return `INSERT INTO audit_log (action, actor, client_order_id, strategy_id, symbol, reason_code, request_id, details,
                         occurred_at)
    SELECT ${p.action}, ${p.actor}, client_order_id, strategy_id, symbol, ${p.reasonCode ?? 'NULL'}, ${p.requestId},
           ${p.details}, ${p.occurredAt}
      FROM ${source}`;
}

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
