/**
 * Credentials in URLs are kept out of the logs (docs/security.md#secrets-in-logs).
 * The gateway never accepts a key in the query string, but a client that sends
 * one anyway must not find it in the access log. Pure.
 *
 * Invariants:
 * - the value of every query parameter named like a credential (`api_key`,
 *   `apikey`, `key`, `token`, `access_token`, ..., any case, percent-encoded or
 *   not) is replaced by `[redacted]`;
 * - so is any query value, and any part of the URL, shaped like a gateway API
 *   key (`eg_` and 43 base64url characters, as generateApiKey makes them);
 * - everything else is left byte for byte, so the line still says which route
 *   was called with which parameters.
 */

export const REDACTED = '[redacted]';

/** Query parameter names whose values are credentials, lower case. */
export const SECRET_QUERY_PARAMS: ReadonlySet<string> = new Set([
  'api_key',
  'api-key',
  'apikey',
  'x-api-key',
  'key',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'auth',
  'authorization',
  'secret',
  'password',
  'signature',
  'x-internal-signature',
]);

/** The shape of a gateway API key (src/auth/api-key.service.ts, generateApiKey). */
export const API_KEY_SHAPE = /eg_[A-Za-z0-9_-]{43}/;
const API_KEY_SHAPES = new RegExp(API_KEY_SHAPE.source, 'g');

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** `url` (a path with an optional query string) with every credential in it replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  // Fast path: no query and nothing key-shaped in the path.
  if (q < 0 && !url.includes('eg_')) return url;
  const path = (q < 0 ? url : url.slice(0, q)).replace(API_KEY_SHAPES, REDACTED);
  if (q < 0) return path;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const rawName = eq < 0 ? part : part.slice(0, eq);
      const name = decode(rawName);
      const value = eq < 0 ? '' : decode(part.slice(eq + 1));
      const shownName = API_KEY_SHAPE.test(name) ? REDACTED : rawName;
      if (eq < 0) return shownName;
      if (SECRET_QUERY_PARAMS.has(name.trim().toLowerCase()) || API_KEY_SHAPE.test(value)) {
        return `${shownName}=${REDACTED}`;
      }
      return shownName === rawName ? part : `${shownName}=${part.slice(eq + 1)}`;
    })
    .join('&');
  return `${path}?${query}`;
}
