import { ConfigError } from '../../config/app-config';
import { EmbeddedPostgresError } from '../database/embedded-postgres-runtime';
import { describeStartupFailure } from './startup-failure';

const where = { port: 8002 };
const sysError = (fields: Record<string, unknown>) => Object.assign(new Error(String(fields.message ?? '')), fields);

describe('describeStartupFailure', () => {
  it('names every bad variable of a configuration error on one line', () => {
    const err = new ConfigError([
      { variable: 'PORT', problem: 'must be an integer' },
      { variable: 'LOG_FORMAT', problem: 'must be one of json, pretty, auto, got "xml"' },
    ]);
    expect(describeStartupFailure(err, where)).toBe(
      'invalid configuration: PORT: must be an integer; LOG_FORMAT: must be one of json, pretty, auto, got "xml"',
    );
  });

  it('passes an embedded PostgreSQL error through as it is written', () => {
    const err = new EmbeddedPostgresError('embedded PostgreSQL: port 54329 ... set EMBEDDED_PG_PORT');
    expect(describeStartupFailure(err, where)).toBe(err.message);
  });

  it('names the port and PORT when the HTTP port is busy', () => {
    const err = sysError({ code: 'EADDRINUSE', syscall: 'listen', message: 'listen EADDRINUSE :::8002' });
    expect(describeStartupFailure(err, where)).toBe(
      'cannot listen on all interfaces port 8002: already in use by another process; stop it or set PORT',
    );
  });

  it('names HOST when the interface does not exist', () => {
    const err = sysError({ code: 'EADDRNOTAVAIL', syscall: 'listen' });
    expect(describeStartupFailure(err, { port: 8002, host: '10.9.9.9' })).toContain('set HOST');
  });

  it('names the address and the variables to check when a server refuses the connection', () => {
    const err = sysError({ code: 'ECONNREFUSED', syscall: 'connect', address: '127.0.0.1', port: 5432 });
    expect(describeStartupFailure(err, where)).toBe(
      'cannot connect to 127.0.0.1:5432 (ECONNREFUSED): check DATABASE_URL and REDIS_URL, and that the server is running',
    );
  });

  it('never says "undefined" and never spans lines', () => {
    for (const err of [undefined, null, '', new Error(''), new Error('first\nsecond'), {}, 42]) {
      const line = describeStartupFailure(err, where);
      expect(line).not.toMatch(/^undefined|: undefined/);
      expect(line).not.toContain('\n');
      expect(line.length).toBeGreaterThan(5);
    }
  });
});
