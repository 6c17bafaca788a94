/**
 * Assertions on the API's one error shape: `{error, message, details?, request_id}`
 * (docs/api.md), never a stack trace.
 */
import type { Response } from 'supertest';
import type { DataSource } from 'typeorm';

const ERROR_KEYS = ['details', 'error', 'message', 'request_id'];

/** Traces and source locations that must never reach a client. */
const LEAK_PATTERNS = [/\n\s+at\s/, /\bat [\w.<>]+ \(/, /\.(ts|js):\d+:\d+/, /node_modules/, /"stack"\s*:/];

/** Checks the status, the error code and the body shape; returns the body for further checks. */
export function expectError(res: Response, status: number, code: string): ErrorBodyShape {
  if (res.status !== status || res.body?.error !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${res.text}`);
  }
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.body as ErrorBodyShape;
  expect(typeof body).toBe('object');
  expect(Object.keys(body).every((k) => ERROR_KEYS.includes(k))).toBe(true);
  expect(body.error).toMatch(/^[A-Z][A-Z0-9_]*$/);
  expect(typeof body.message).toBe('string');
  expect(body.message.length).toBeGreaterThan(0);
  expect(typeof body.request_id).toBe('string');
  expect(body.request_id).toBe(res.headers['x-request-id']);
  expectNoLeak(res.text);
  return body;
}

export function expectNoLeak(text: string): void {
  for (const p of LEAK_PATTERNS) expect(text).not.toMatch(p);
}

export interface FieldProblemShape {
  field: string;
  problems: string[];
}

export interface ErrorBodyShape {
  error: string;
  message: string;
  request_id: string;
  details?: { fields?: FieldProblemShape[] } & Record<string, unknown>;
}

/** A 422 VALIDATION_FAILED naming exactly these fields (sorted comparison), each with a problem. */
export function expectInvalidFields(res: Response, fields: string[]): ErrorBodyShape {
  const body = expectError(res, 422, 'VALIDATION_FAILED');
  const named = body.details?.fields ?? [];
  expect(named.map((f) => f.field).sort()).toEqual([...new Set(fields)].sort());
  for (const f of named) {
    expect(Array.isArray(f.problems)).toBe(true);
    expect(f.problems.length).toBeGreaterThan(0);
    for (const p of f.problems) expect(typeof p).toBe('string');
  }
  return body;
}

export async function countRows(db: DataSource, table: 'orders' | 'audit_log' | 'api_keys' | 'fills'): Promise<number> {
  const rows: Array<{ n: string }> = await db.query(`SELECT count(*) AS n FROM ${table}`);
  return Number(rows[0].n);
}
