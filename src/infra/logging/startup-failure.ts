/**
 * A failed start, told in one line that names the cause and the fix
 * (docs/operations.md#troubleshooting). Pure.
 */
import { ConfigError } from '../../config/app-config';
import { EmbeddedPostgresError } from '../database/embedded-postgres-runtime';

interface SystemError {
  code?: unknown;
  syscall?: unknown;
  address?: unknown;
  port?: unknown;
  message?: unknown;
}

export function describeStartupFailure(err: unknown, where: { port: number; host?: string }): string {
  if (err instanceof ConfigError) {
    return `invalid configuration: ${err.problems.map((p) => `${p.variable}: ${p.problem}`).join('; ')}`;
  }
  if (err instanceof EmbeddedPostgresError) return err.message;
  if (typeof err !== 'object' || err === null) {
    return `unexpected ${err === undefined ? 'failure without a reason' : `failure: ${String(err)}`}; run with LOG_LEVEL=debug to see more`;
  }
  const e = err as SystemError;
  const message = typeof e.message === 'string' && e.message.trim() ? e.message.trim().replace(/\s*\n\s*/g, '; ') : '';
  if (e.syscall === 'listen') {
    const at = `${where.host ?? 'all interfaces'} port ${where.port}`;
    if (e.code === 'EADDRINUSE')
      return `cannot listen on ${at}: already in use by another process; stop it or set PORT`;
    if (e.code === 'EACCES') return `cannot listen on ${at}: permission denied; use a port above 1023 or set PORT`;
    if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') {
      return `cannot listen on ${at}: no such local address; set HOST to an address of this machine (or unset it)`;
    }
  }
  if (e.syscall === 'connect' || e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'ETIMEDOUT') {
    const target =
      typeof e.address === 'string' ? ` ${e.address}${typeof e.port === 'number' ? `:${e.port}` : ''}` : '';
    return `cannot connect to${target} (${String(e.code)}): check DATABASE_URL and REDIS_URL, and that the server is running`;
  }
  return (
    message ||
    `unexpected failure (${String(e.code ?? (err as object).constructor?.name ?? 'unknown')}); run with LOG_LEVEL=debug to see more`
  );
}
