import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Decimal, plain } from '../../common/decimal';
import { sql, Tx, UnitOfWork } from '../../infra/database/unit-of-work';
import { OVERRIDABLE_FIELDS, StoredThresholds, SymbolOverride } from './fat-finger-thresholds';

interface Row {
  max_notional: string | null;
  max_qty: string | null;
  max_adv_pct: string | null;
  max_price_age_seconds: number | null;
  version: string;
  updated_at: Date | null;
  updated_by: string | null;
  overrides: Array<{ symbol: string; max_notional: string | null; max_qty: string | null; max_adv_pct: string | null }>;
}

const COLUMN: Record<(typeof OVERRIDABLE_FIELDS)[number], 'max_notional' | 'max_qty' | 'max_adv_pct'> = {
  maxNotional: 'max_notional',
  maxQty: 'max_qty',
  maxAdvPct: 'max_adv_pct',
};

/** NUMERIC text keeps the scale it was written with; the API shows plain decimals. */
const dec = (v: string | null): string | null => (v === null ? null : plain(new Decimal(v)));

function toStored(r: Row): StoredThresholds {
  const symbolOverrides: Record<string, SymbolOverride> = {};
  for (const o of r.overrides) {
    const clean: SymbolOverride = {};
    for (const field of OVERRIDABLE_FIELDS) {
      const v = dec(o[COLUMN[field]]);
      if (v !== null) clean[field] = v;
    }
    symbolOverrides[o.symbol] = clean;
  }
  return {
    defaults: {
      maxNotional: dec(r.max_notional),
      maxQty: dec(r.max_qty),
      maxAdvPct: dec(r.max_adv_pct),
      maxPriceAgeSeconds: r.max_price_age_seconds,
    },
    symbolOverrides,
    updatedAt: r.updated_at,
    updatedBy: r.updated_by,
    version: Number(r.version),
  };
}

/** One statement, so the defaults and the overrides come from one snapshot. Numerics as text: exact. */
const SELECT_ALL = `
  SELECT s.max_notional::text AS max_notional, s.max_qty::text AS max_qty, s.max_adv_pct::text AS max_adv_pct,
         s.max_price_age_seconds, s.version, s.updated_at, s.updated_by,
         COALESCE((SELECT json_agg(json_build_object(
                     'symbol', o.symbol, 'max_notional', o.max_notional::text,
                     'max_qty', o.max_qty::text, 'max_adv_pct', o.max_adv_pct::text) ORDER BY o.symbol)
                     FROM fat_finger_symbol_overrides o), '[]'::json) AS overrides
    FROM fat_finger_settings s WHERE s.id = 1`;

/** fat_finger_settings (one row: defaults, version) and fat_finger_symbol_overrides. */
@Injectable()
export class FatFingerThresholdsRepository {
  constructor(
    private readonly ds: DataSource,
    private readonly uow: UnitOfWork,
  ) {}

  async read(): Promise<StoredThresholds> {
    const rows: Row[] = await this.ds.query(SELECT_ALL);
    if (!rows.length) throw new Error('fat_finger_settings has no row (migration missing?)');
    return toStored(rows[0]);
  }

  /** Runs `fn` in a transaction holding the settings row's lock, so changes are serialized across replicas. */
  async withLocked<T>(fn: (stored: StoredThresholds, tx: Tx) => Promise<T>): Promise<T> {
    return this.uow.run(async (tx) => {
      await sql(tx, `SELECT 1 FROM fat_finger_settings WHERE id = 1 FOR UPDATE`);
      const rows = await sql<Row>(tx, SELECT_ALL);
      if (!rows.length) throw new Error('fat_finger_settings has no row (migration missing?)');
      return fn(toStored(rows[0]), tx);
    });
  }

  /**
   * Writes `next` in full over `previous` (inside `withLocked`), one version
   * more, and answers what is now stored.
   */
  async write(tx: Tx, previous: StoredThresholds, next: StoredThresholds, operator: string): Promise<StoredThresholds> {
    const d = next.defaults;
    await sql(
      tx,
      `UPDATE fat_finger_settings
          SET max_notional = $1, max_qty = $2, max_adv_pct = $3, max_price_age_seconds = $4,
              version = version + 1, updated_at = now(), updated_by = $5
        WHERE id = 1`,
      [d.maxNotional, d.maxQty, d.maxAdvPct, d.maxPriceAgeSeconds, operator],
    );
    const removed = Object.keys(previous.symbolOverrides).filter((s) => !(s in next.symbolOverrides));
    if (removed.length) {
      await sql(tx, `DELETE FROM fat_finger_symbol_overrides WHERE symbol = ANY($1)`, [removed]);
    }
    for (const [symbol, o] of Object.entries(next.symbolOverrides)) {
      const before = previous.symbolOverrides[symbol];
      if (before && OVERRIDABLE_FIELDS.every((f) => before[f] === o[f])) continue;
      await sql(
        tx,
        `INSERT INTO fat_finger_symbol_overrides (symbol, max_notional, max_qty, max_adv_pct, updated_by)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (symbol) DO UPDATE
           SET max_notional = EXCLUDED.max_notional, max_qty = EXCLUDED.max_qty, max_adv_pct = EXCLUDED.max_adv_pct,
               updated_at = now(), updated_by = EXCLUDED.updated_by`,
        [symbol, o.maxNotional ?? null, o.maxQty ?? null, o.maxAdvPct ?? null, operator],
      );
    }
    const rows = await sql<Row>(tx, SELECT_ALL);
    return toStored(rows[0]);
  }
}
