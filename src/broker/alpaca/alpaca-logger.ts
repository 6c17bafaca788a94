/**
 * The adapter's logging needs, kept minimal so the core classes import no
 * framework: the Nest provider passes a pino/Nest-backed implementation.
 * Context objects are structured fields; never put credentials in them.
 */
export interface AlpacaLogger {
  info(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

export const SILENT_LOGGER: AlpacaLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
