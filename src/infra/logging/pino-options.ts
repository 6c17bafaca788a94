/**
 * One definition of the log lines, shared by the application's logger
 * (LoggingModule), the logger Nest uses while the application is being built
 * and the start-up failure line of main.ts, so all three look alike
 * (docs/operations.md#logs-and-request-ids). Credentials are redacted wherever they would
 * appear: headers by path, and query strings in any logged URL
 * (docs/security.md#secrets-in-logs).
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import { chooseLogFormat, type ResolvedLogFormat } from './log-format';
import { redactUrl } from './redact-query';

/** Any `url` (or `req.url`) a log line carries loses the credentials in its query string. */
export function redactLoggedUrls(o: Record<string, unknown>): Record<string, unknown> {
  const req = o.req as { url?: unknown } | undefined;
  if (typeof o.url === 'string') o = { ...o, url: redactUrl(o.url) };
  if (req && typeof req === 'object' && typeof req.url === 'string')
    o = { ...o, req: { ...req, url: redactUrl(req.url) } };
  return o;
}

export function pinoOptions(level: string): LoggerOptions {
  return {
    level,
    base: { service: 'execution-gateway' },
    formatters: { log: redactLoggedUrls },
    redact: {
      paths: ['*.authorization', '*["x-api-key"]', '*["x-internal-signature"]', '*["x-alpaca-signature"]', '*.cookie'],
      censor: '[redacted]',
    },
  };
}

/** Where lines go: stdout as JSON, or through pino-pretty (synchronously, so a last line before exit is not lost). */
export function logDestination(format: ResolvedLogFormat): DestinationStream {
  if (format === 'json') return pino.destination({ dest: 1, sync: true });
  return pretty({
    destination: 1,
    sync: true,
    colorize: Boolean(process.stdout.isTTY),
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service,context',
    messageFormat: '{if context}[{context}] {end}{msg}',
  });
}

export function createRootLogger(level: string, format: ResolvedLogFormat): Logger {
  return pino(pinoOptions(level), logDestination(format));
}

/** The format the application logs in: LOG_FORMAT, or chosen by the terminal and environment. */
export function resolveLogFormat(logFormat: string | undefined): ResolvedLogFormat {
  return chooseLogFormat({ ...process.env, LOG_FORMAT: logFormat }, Boolean(process.stdout.isTTY));
}
