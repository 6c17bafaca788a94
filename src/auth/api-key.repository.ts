import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Permission } from './permission';

export interface ApiKeyRecord {
  id: string;
  name: string;
  keyPrefix: string;
  permissions: Permission[];
  strategies: string[];
  createdAt: Date;
  createdBy: string;
}

interface ApiKeyRow {
  id: string;
  name: string;
  key_prefix: string;
  permissions: Permission[];
  strategies: string[];
  created_at: Date;
  created_by: string;
}

/** api_keys: keys are stored as SHA-256 hashes, never in clear. */
@Injectable()
export class ApiKeyRepository {
  constructor(private readonly ds: DataSource) {}

  async findActiveByHash(keyHash: string): Promise<ApiKeyRecord | null> {
    const rows: ApiKeyRow[] = await this.ds.query('SELECT * FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL', [
      keyHash,
    ]);
    return rows.length ? toRecord(rows[0]) : null;
  }

  async countActive(manager?: EntityManager): Promise<number> {
    const rows: Array<{ n: string }> = await (manager ?? this.ds.manager).query(
      'SELECT count(*) AS n FROM api_keys WHERE revoked_at IS NULL',
    );
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
    manager?: EntityManager,
  ): Promise<ApiKeyRecord> {
    const rows: ApiKeyRow[] = await (manager ?? this.ds.manager).query(
      `INSERT INTO api_keys (name, key_hash, key_prefix, permissions, strategies, created_by)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
      [key.name, key.keyHash, key.keyPrefix, key.permissions, key.strategies, key.createdBy],
    );
    return toRecord(rows[0]);
  }

  /** Runs `fn` in a transaction holding a lock that serializes key bootstrap across replicas. */
  async withBootstrapLock<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.ds.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [7_342_003]);
      return fn(manager);
    });
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
  };
}
