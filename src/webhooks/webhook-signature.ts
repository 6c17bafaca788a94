import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * `X-Alpaca-Signature: sha256=<hex>` (or the bare `<hex>`) over the exact bytes
 * received, compared in constant time. False for a missing or malformed header.
 */
export function verifyWebhookSignature(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  if (!header) return false;
  const m = /^(?:sha256=)?([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(m[1], 'hex'));
}

export function signWebhook(rawBody: Buffer | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}
