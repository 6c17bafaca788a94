/**
 * The shape of log lines (docs/operations.md#logs-and-request-ids): `json` (one object per
 * line, for collectors) or `pretty` (coloured, one line per entry, for a
 * person at a terminal). Pure.
 */
export type ResolvedLogFormat = 'json' | 'pretty';

/**
 * LOG_FORMAT wins when it is `json` or `pretty`; otherwise (`auto`, unset or
 * not understood) pretty only when stdout is a terminal and neither NODE_ENV
 * nor ENVIRONMENT says production.
 */
export function chooseLogFormat(
  env: { LOG_FORMAT?: string; NODE_ENV?: string; ENVIRONMENT?: string },
  stdoutIsTty: boolean,
): ResolvedLogFormat {
  const asked = env.LOG_FORMAT?.trim().toLowerCase();
  if (asked === 'json' || asked === 'pretty') return asked;
  const production = [env.NODE_ENV, env.ENVIRONMENT].some((v) => v?.trim().toLowerCase() === 'production');
  return stdoutIsTty && !production ? 'pretty' : 'json';
}
