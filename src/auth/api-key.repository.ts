import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db, sql, Tx, UnitOfWork } from '../infra/database/unit-of-work';
import { Permission } from './permission';

export interface ApiKeyRecord {
  id: string;
  name: string;
  keyPrefix: string;
  permissions: Permission[];
  strategies: string[];
  createdAt: Date;
  createdBy: string;
  revokedAt: Date | null;
  revokedBy: string | null;
  lastUsedAt: Date | null;
}

interface ApiKeyRow {
  id: string;
  name: string;
  key_prefix: string;
  permissions: Permission[];
  strategies: string[];
  created_at: Date;
  created_by: string;
  revoked_at: Date | null;
  revoked_by?: string | null;
  last_used_at?: Date | null;
}

/** Every column but key_hash: the hash never leaves this file. */
const COLUMNS =
  'id, name, key_prefix, permissions, strategies, created_at, created_by, revoked_at, revoked_by, last_used_at';

/** api_keys: keys are stored as SHA-256 hashes, never in clear; revoked, never deleted. */
@Injectable()
export class ApiKeyRepository {
  constructor(
    private readonly ds: DataSource,
    private readonly uow: UnitOfWork,
  ) {}

  async findActiveByHash(keyHash: string): Promise<ApiKeyRecord | null> {
    const rows: ApiKeyRow[] = await this.ds.query(
      `SELECT ${COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
      [keyHash],
    );
    return rows.length ? toRecord(rows[0]) : null;
  }

  async findById(id: string, tx?: Tx): Promise<ApiKeyRecord | null> {
    const rows = await sql<ApiKeyRow>(this.db(tx), `SELECT ${COLUMNS} FROM api_keys WHERE id = $1`, [id]);
    return rows.length ? toRecord(rows[0]) : null;
  }

  /** Every key, revoked ones included, oldest first. */
  async list(): Promise<ApiKeyRecord[]> {
    const rows: ApiKeyRow[] = await this.ds.query(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, id`);
    return rows.map(toRecord);
  }

  async countActive(tx?: Tx): Promise<number> {
    const rows = await sql<{ n: string }>(this.db(tx), 'SELECT count(*) AS n FROM api_keys WHERE revoked_at IS NULL');
    return Number(rows[0].n);
  }

  async insert(
    key: {
      name: string;
      keyHash: string;
      keyPrefix: string;
      permissions: Permission[];
      strategies: string[];
      createdBy: string;
    },
    tx?: Tx,
  ): Promise<ApiKeyRecord> {
    const rows = await sql<ApiKeyRow>(
      this.db(tx),
      `INSERT INTO api_keys (name, key_hash, key_prefix, permissions, strategies, created_by)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
      [key.name, key.keyHash, key.keyPrefix, key.permissions, key.strategies, key.createdBy],
    );
    return toRecord(rows[0]);
  }

  /** Revokes an active key; null when the id names no active key (unknown, or revoked already). */
  async revokeIfActive(id: string, revokedBy: string, tx?: Tx): Promise<ApiKeyRecord | null> {
    const rows = await sql<ApiKeyRow>(
      this.db(tx),
      `UPDATE api_keys SET revoked_at = now(), revoked_by = $2
        WHERE id = $1 AND revoked_at IS NULL RETURNING ${COLUMNS}`,
      [id, revokedBy],
    );
    return rows.length ? toRecord(rows[0]) : null;
  }

  /** Records a use; skipped while the stored time is under `minIntervalSeconds` old, so it writes rarely. */
  async touchLastUsed(id: string, minIntervalSeconds: number): Promise<void> {
    await this.ds.query(
      `UPDATE api_keys SET last_used_at = now()
        WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))`,
      [id, minIntervalSeconds],
    );
  }

  /** Runs `fn` in a transaction holding a lock that serializes key bootstrap across replicas. */
  async withBootstrapLock<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.uow.run(async (tx) => {
      await sql(tx, 'SELECT pg_advisory_xact_lock($1)', [7_342_003]);
      return fn(tx);
    });
  }

  private db(tx: Tx | undefined): Db {
    return tx ?? this.ds;
  }
}

function toRecord(r: ApiKeyRow): ApiKeyRecord {
  return {
    id: r.id,
    name: r.name,
    keyPrefix: r.key_prefix,
    permissions: r.permissions,
    strategies: r.strategies,
    createdAt: r.created_at,
    createdBy: r.created_by,
    revokedAt: r.revoked_at ?? null,
    revokedBy: r.revoked_by ?? null,
    lastUsedAt: r.last_used_at ?? null,
  };
}
