import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { sql, Statement, Tx } from '../infra/database/unit-of-work';
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

/** Rows per multi-row INSERT (9 parameters each, well under PostgreSQL's 65,535). */
const MAX_ROWS_PER_INSERT = 1_000;

/**
 * Appends to audit_log. The table refuses UPDATE, DELETE and TRUNCATE in the
 * database itself, so nothing here can rewrite history.
 */
@Injectable()
export class AuditRepository {
  constructor(private readonly ds: DataSource) {}

  /** Appends one entry, inside `tx` when one is given. */
  async append(entry: AuditEntry, tx?: Tx): Promise<void> {
    await this.appendMany(tx ?? this.ds, [entry]);
  }

  /**
   * Appends these entries in one statement, in the order given (each row's
   * triggers fire as they would for its own INSERT).
   */
  async appendMany(tx: Tx | DataSource, entries: readonly AuditEntry[]): Promise<void> {
    for (const { text, values } of this.appendManyStatements(entries)) await sql(tx, text, values);
  }

  /** Appends these entries, one statement per MAX_ROWS_PER_INSERT of them, in the order given. */
  appendManyStatements(entries: readonly AuditEntry[]): Statement[] {
    const out: Statement[] = [];
    for (let i = 0; i < entries.length; i += MAX_ROWS_PER_INSERT) {
      const values: unknown[] = [];
      const rows = entries.slice(i, i + MAX_ROWS_PER_INSERT).map((entry) => {
        values.push(
          entry.action,
          entry.actor,
          entry.clientOrderId ?? null,
          entry.strategyId ?? null,
          entry.symbol ?? null,
          entry.reasonCode ?? null,
          entry.requestId ?? null,
          JSON.stringify(entry.details ?? {}),
          entry.occurredAt ?? null,
        );
        const $ = (k: number) => `$${values.length - 9 + k}`;
        return `(${[1, 2, 3, 4, 5, 6, 7, 8].map($).join(', ')}, COALESCE(${$(9)}::timestamptz, now()))`;
      });
      out.push({
        text: `INSERT INTO audit_log (action, actor, client_order_id, strategy_id, symbol, reason_code, request_id, details,
                                  occurred_at)
           VALUES ${rows.join(', ')}`,
        values,
      });
    }
    return out;
  }
}
