/**
 * Service-to-service request signing (docs/api.md#service-signing). Pure: no Nest, no store.
 *
 * A signed request carries `X-Internal-Timestamp` (unix seconds) and
 * `X-Internal-Signature`, the hex HMAC-SHA256 under INTERNAL_TOKEN_SECRET of
 *
 *     timestamp + "\n" + METHOD + "\n" + path with query + "\n" + raw body
 *
 * Invariants:
 * - a signature is checked in constant time, and before anything is recorded
 *   about it, so a forged signature cannot fill the replay cache;
 * - a timestamp more than the tolerance away from the gateway's clock, either
 *   way, is refused, so a signature can only ever be valid within a window of
 *   2 × tolerance; the replay cache keeps every accepted signature at least
 *   that long (`replayTtlMs`), so none is accepted twice;
 * - health, metrics, docs and `/` are never signed (probes and scrapers hold
 *   no secret); the webhook is exempt while WEBHOOK_SECRET is set, because the
 *   broker signs it with its own HMAC and cannot sign with ours.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const INTERNAL_TIMESTAMP_HEADER = 'x-internal-timestamp';
export const INTERNAL_SIGNATURE_HEADER = 'x-internal-signature';

export type InternalSignatureCode =
  'INTERNAL_SIGNATURE_MISSING' | 'INTERNAL_SIGNATURE_INVALID' | 'INTERNAL_TIMESTAMP_OUT_OF_TOLERANCE';

export interface SignedRequest {
  method: string;
  /** The path with its query string, exactly as received (`req.originalUrl`). */
  pathWithQuery: string;
  rawBody: Buffer | string;
  timestampHeader: string | undefined;
  signatureHeader: string | undefined;
}

export interface SigningPolicy {
  secret: string;
  /** false: a request that carries neither header passes unsigned; one that carries either is verified. */
  required: boolean;
  toleranceSeconds: number;
}

export type SignatureDecision =
  | { outcome: 'unsigned' }
  | { outcome: 'verified'; signature: string }
  | { outcome: 'refused'; code: InternalSignatureCode; message: string };

const TIMESTAMP = /^\d{1,15}$/;
const SIGNATURE = /^[0-9a-fA-F]{64}$/;

export function internalSignature(
  secret: string,
  timestamp: string,
  method: string,
  pathWithQuery: string,
  rawBody: Buffer | string,
): string {
  return createHmac('sha256', secret)
    .update(`${timestamp}\n${method.toUpperCase()}\n${pathWithQuery}\n`, 'utf8')
    .update(rawBody)
    .digest('hex');
}

/** Checks headers, clock window and HMAC; the replay check is the caller's (it needs the shared store). */
export function checkInternalSignature(req: SignedRequest, policy: SigningPolicy, nowMs: number): SignatureDecision {
  const ts = req.timestampHeader?.trim();
  const sig = req.signatureHeader?.trim();
  if (!ts && !sig && !policy.required) return { outcome: 'unsigned' };
  if (!ts || !sig) {
    return {
      outcome: 'refused',
      code: 'INTERNAL_SIGNATURE_MISSING',
      message: 'Service calls must carry X-Internal-Timestamp and X-Internal-Signature',
    };
  }
  if (!TIMESTAMP.test(ts)) {
    return {
      outcome: 'refused',
      code: 'INTERNAL_SIGNATURE_INVALID',
      message: 'X-Internal-Timestamp must be unix seconds',
    };
  }
  if (!SIGNATURE.test(sig)) {
    return {
      outcome: 'refused',
      code: 'INTERNAL_SIGNATURE_INVALID',
      message: 'X-Internal-Signature must be a hex HMAC-SHA256 (64 hex digits)',
    };
  }
  if (Math.abs(Number(ts) * 1000 - nowMs) > policy.toleranceSeconds * 1000) {
    return {
      outcome: 'refused',
      code: 'INTERNAL_TIMESTAMP_OUT_OF_TOLERANCE',
      message: `X-Internal-Timestamp is more than ${policy.toleranceSeconds} s away from the gateway's clock`,
    };
  }
  const expected = Buffer.from(internalSignature(policy.secret, ts, req.method, req.pathWithQuery, req.rawBody), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(sig, 'hex'))) {
    return {
      outcome: 'refused',
      code: 'INTERNAL_SIGNATURE_INVALID',
      message: 'X-Internal-Signature does not match the timestamp, method, path and body',
    };
  }
  return { outcome: 'verified', signature: sig.toLowerCase() };
}

/** How long an accepted signature is remembered: its whole validity window (2 × tolerance) plus a minute for replicas' clock skew. */
export function replayTtlMs(toleranceSeconds: number): number {
  return (2 * toleranceSeconds + 60) * 1000;
}

/** Routes that are never signed: probes, metrics, docs, metadata; the webhook while it has its own HMAC. */
export function isExemptFromInternalSigning(pathWithQuery: string, opts: { webhookSecretSet: boolean }): boolean {
  // Express matches routes case-insensitively and ignores a trailing slash; so does this.
  const path = (pathWithQuery.split('?')[0] ?? '').toLowerCase().replace(/\/+$/, '') || '/';
  if (path === '/' || path === '/metrics' || path === '/health' || path.startsWith('/health/')) return true;
  if (path === '/docs' || path.startsWith('/docs/') || path === '/docs-json' || path === '/docs-yaml') return true;
  return opts.webhookSecretSet && path === '/api/v1/webhooks/orders';
}
