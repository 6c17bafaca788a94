import { internalSignature } from '../../src/auth/internal-signature';

/** The X-Internal-* headers a service sends for one call (docs/api.md#service-signing). */
export function internalHeaders(
  secret: string,
  method: string,
  pathWithQuery: string,
  body: string,
  timestampSeconds: number,
): Record<string, string> {
  const ts = String(timestampSeconds);
  return {
    'X-Internal-Timestamp': ts,
    'X-Internal-Signature': internalSignature(secret, ts, method, pathWithQuery, body),
  };
}
