import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { sql, Statement, Tx } from '../../infra/database/unit-of-work';
import { PositionState } from '../domain/position-math';

interface PositionRow {
  symbol: string;
  qty: string;
  avg_entry_price: string;
  realized_pl: string;
}

export interface PositionRecord extends PositionState {
  symbol: string;
  currentPrice: string | null;
  updatedAt: Date;
  lastTradeAt: Date | null;
}

/** positions: one row per symbol, changed only under its row lock. */
@Injectable()
export class PositionRepository {
  constructor(private readonly ds: DataSource) {}

  /** Every symbol's position figures only (as text, no times), by symbol: what the P&L views read. */
  async listStates(): Promise<Array<PositionState & { symbol: string }>> {
    const rows: PositionRow[] = await this.ds.query(
      `SELECT symbol, qty::text AS qty, avg_entry_price::text AS avg_entry_price, realized_pl::text AS realized_pl
         FROM positions ORDER BY symbol`,
    );
    return rows.map((r) => ({
      symbol: r.symbol,
      qty: r.qty,
      avgEntryPrice: r.avg_entry_price,
      realizedPl: r.realized_pl,
    }));
  }

  /** Every symbol ever traded (flat ones too: their realized P&L stands), by symbol. */
  async listAll(): Promise<PositionRecord[]> {
    const rows: Array<PositionRow & { current_price: string | null; updated_at: Date; last_trade_at: Date | null }> =
      await this.ds.query(
        `SELECT symbol, qty, avg_entry_price, realized_pl, current_price, updated_at, last_trade_at
           FROM positions ORDER BY symbol`,
      );
    return rows.map((r) => ({
      symbol: r.symbol,
      qty: r.qty,
      avgEntryPrice: r.avg_entry_price,
      realizedPl: r.realized_pl,
      currentPrice: r.current_price,
      updatedAt: r.updated_at,
      lastTradeAt: r.last_trade_at,
    }));
  }

  /** The last fill price (and its time) of each of `symbols` that has a fill. */
  async lastFillPrices(symbols: readonly string[]): Promise<Map<string, { price: string; at: Date }>> {
    const rows: Array<{ symbol: string; price: string; executed_at: Date }> = await this.ds.query(
      `SELECT DISTINCT ON (symbol) symbol, price::text AS price, executed_at
         FROM fills WHERE symbol = ANY($1) ORDER BY symbol, executed_at DESC, id DESC`,
      [symbols],
    );
    return new Map(rows.map((r) => [r.symbol, { price: r.price, at: r.executed_at }]));
  }

  /** Σ realized P&L of the fills executed at or after `since` (decimal string). */
  async realizedSince(since: Date): Promise<string> {
    const rows: Array<{ total: string }> = await this.ds.query(
      `SELECT COALESCE(SUM(realized_pl), 0)::text AS total FROM fills WHERE executed_at >= $1`,
      [since],
    );
    return rows[0].total;
  }

  /** Locks the symbol's position for the rest of the transaction, creating it flat if new. */
  async lockOrCreate(tx: Tx, symbol: string): Promise<PositionState> {
    const lock = () =>
      sql<PositionRow>(
        tx,
        `SELECT symbol, qty, avg_entry_price, realized_pl FROM positions WHERE symbol = $1 FOR UPDATE`,
        [symbol],
      );
    // One round trip for a symbol that has its row (every one after its first fill).
    let rows = await lock();
    if (!rows.length) {
      await sql(tx, `INSERT INTO positions (symbol) VALUES ($1) ON CONFLICT (symbol) DO NOTHING`, [symbol]);
      rows = await lock();
    }
    const r = rows[0];
    return { qty: r.qty, avgEntryPrice: r.avg_entry_price, realizedPl: r.realized_pl };
  }

  async save(tx: Tx, symbol: string, p: PositionState, tradeAt: Date, now: Date): Promise<void> {
    const { text, values } = this.saveStatement(symbol, p, tradeAt, now);
    await sql(tx, text, values);
  }

  /**
   * Overwrites the symbol's position with one rebuilt from its fills (the row
   * is locked by the caller's unit of work).
   */
  async overwrite(tx: Tx, symbol: string, p: PositionState, lastTradeAt: Date | null): Promise<void> {
    await sql(
      tx,
      `UPDATE positions SET qty = $2, avg_entry_price = $3, realized_pl = $4, last_trade_at = $5, updated_at = now()
        WHERE symbol = $1`,
      [symbol, p.qty, p.avgEntryPrice, p.realizedPl, lastTradeAt],
    );
  }

  /** Writes the symbol's locked position (see `PositionRepository.save`). */
  saveStatement(symbol: string, p: PositionState, tradeAt: Date, now: Date): Statement {
    return {
      text: `UPDATE positions SET qty = $2, avg_entry_price = $3, realized_pl = $4, last_trade_at = $5, updated_at = $6
          WHERE symbol = $1`,
      values: [symbol, p.qty, p.avgEntryPrice, p.realizedPl, tradeAt, now],
    };
  }
}
