import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import {
  checkInternalSignature,
  internalSignature,
  isExemptFromInternalSigning,
  replayTtlMs,
  SignedRequest,
  SigningPolicy,
} from './internal-signature';

const SECRET = 'internal-secret-0123456789';
const NOW_S = 1_790_000_000;
const NOW_MS = NOW_S * 1000;
const policy: SigningPolicy = { secret: SECRET, required: true, toleranceSeconds: 300 };

function signed(over: Partial<SignedRequest> = {}, ts = String(NOW_S)): SignedRequest {
  const base = { method: 'POST', pathWithQuery: '/api/v1/orders?x=1', rawBody: '{"symbol":"AAPL"}', ...over };
  return {
    ...base,
    timestampHeader: ts,
    signatureHeader: internalSignature(SECRET, ts, base.method, base.pathWithQuery, base.rawBody),
    ...over,
  };
}

describe('internalSignature (docs/api.md#service-signing)', () => {
  it('is the hex HMAC-SHA256 of timestamp, METHOD, path with query and raw body, joined by newlines', () => {
    const expected = createHmac('sha256', SECRET).update('1790000000\nPOST\n/api/v1/orders?x=1\n{"a":1}').digest('hex');
    expect(internalSignature(SECRET, '1790000000', 'post', '/api/v1/orders?x=1', Buffer.from('{"a":1}'))).toBe(
      expected,
    );
  });
});

describe('checkInternalSignature', () => {
  it('accepts a correct signature, returned lower-cased for the replay cache', () => {
    const req = signed();
    const d = checkInternalSignature({ ...req, signatureHeader: req.signatureHeader!.toUpperCase() }, policy, NOW_MS);
    expect(d).toEqual({ outcome: 'verified', signature: req.signatureHeader });
  });

  it('refuses a missing header with INTERNAL_SIGNATURE_MISSING when required', () => {
    const req = signed();
    for (const r of [
      { ...req, timestampHeader: undefined },
      { ...req, signatureHeader: undefined },
      { ...req, timestampHeader: undefined, signatureHeader: undefined },
      { ...req, signatureHeader: '  ' },
    ]) {
      expect(checkInternalSignature(r, policy, NOW_MS)).toMatchObject({ code: 'INTERNAL_SIGNATURE_MISSING' });
    }
  });

  it('when not required lets a request with neither header through, but still checks one that carries either', () => {
    const lax = { ...policy, required: false };
    const req = signed();
    expect(
      checkInternalSignature({ ...req, timestampHeader: undefined, signatureHeader: undefined }, lax, NOW_MS),
    ).toEqual({
      outcome: 'unsigned',
    });
    expect(checkInternalSignature({ ...req, signatureHeader: undefined }, lax, NOW_MS)).toMatchObject({
      code: 'INTERNAL_SIGNATURE_MISSING',
    });
    expect(checkInternalSignature({ ...req, signatureHeader: 'ab'.repeat(32) }, lax, NOW_MS)).toMatchObject({
      code: 'INTERNAL_SIGNATURE_INVALID',
    });
    expect(checkInternalSignature(req, lax, NOW_MS).outcome).toBe('verified');
  });

  it('refuses malformed headers with INTERNAL_SIGNATURE_INVALID', () => {
    const req = signed();
    for (const r of [
      { ...req, timestampHeader: '17e8' },
      { ...req, timestampHeader: '-5' },
      { ...req, signatureHeader: 'sha256=' + req.signatureHeader },
      { ...req, signatureHeader: req.signatureHeader!.slice(2) },
      { ...req, signatureHeader: 'zz' + req.signatureHeader!.slice(2) },
    ]) {
      expect(checkInternalSignature(r, policy, NOW_MS)).toMatchObject({ code: 'INTERNAL_SIGNATURE_INVALID' });
    }
  });

  it('accepts a timestamp exactly at the tolerance either way, refuses one a second beyond', () => {
    for (const ts of [NOW_S - 300, NOW_S + 300]) {
      expect(checkInternalSignature(signed({}, String(ts)), policy, NOW_MS).outcome).toBe('verified');
    }
    for (const ts of [NOW_S - 301, NOW_S + 301, 0]) {
      expect(checkInternalSignature(signed({}, String(ts)), policy, NOW_MS)).toMatchObject({
        code: 'INTERNAL_TIMESTAMP_OUT_OF_TOLERANCE',
      });
    }
  });

  it('a signature over anything else does not verify: every part is covered (property)', () => {
    const part = fc.constantFrom('method', 'pathWithQuery', 'rawBody', 'timestamp');
    fc.assert(
      fc.property(part, fc.string({ minLength: 1, maxLength: 20 }), (which, extra) => {
        const req = signed();
        let tampered: SignedRequest;
        if (which === 'method') tampered = { ...req, method: req.method === 'POST' ? 'PUT' : 'POST' };
        else if (which === 'pathWithQuery') tampered = { ...req, pathWithQuery: `${req.pathWithQuery}${extra}` };
        else if (which === 'rawBody') tampered = { ...req, rawBody: `${String(req.rawBody)}${extra}` };
        else tampered = { ...req, timestampHeader: String(NOW_S - 1 - (extra.length % 200)) };
        expect(checkInternalSignature(tampered, policy, NOW_MS)).toMatchObject({ code: 'INTERNAL_SIGNATURE_INVALID' });
      }),
    );
  });

  it('a signature made with another secret does not verify', () => {
    const req = signed();
    const other = internalSignature(
      'another-secret-0123456',
      req.timestampHeader!,
      req.method,
      req.pathWithQuery,
      req.rawBody,
    );
    expect(checkInternalSignature({ ...req, signatureHeader: other }, policy, NOW_MS)).toMatchObject({
      code: 'INTERNAL_SIGNATURE_INVALID',
    });
  });
});

describe('replayTtlMs', () => {
  it('outlives the whole window in which a signature can verify (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3600 }), (tol) => {
        expect(replayTtlMs(tol)).toBeGreaterThanOrEqual(2 * tol * 1000);
        expect(Number.isInteger(replayTtlMs(tol))).toBe(true);
      }),
    );
  });
});

describe('isExemptFromInternalSigning', () => {
  it.each([
    '/',
    '/health',
    '/health/live',
    '/health/ready',
    '/metrics',
    '/docs',
    '/docs/json',
    '/docs-json',
    '/docs-yaml',
    '/HEALTH/',
    '/metrics?x=1',
  ])('%s is exempt', (path) => expect(isExemptFromInternalSigning(path, { webhookSecretSet: false })).toBe(true));

  it.each(['/api/v1/orders', '/api/v1/config', '/api/v1/admin/api-keys', '/healthz', '/api/v1/health', '/metricsx'])(
    '%s is not',
    (path) => expect(isExemptFromInternalSigning(path, { webhookSecretSet: true })).toBe(false),
  );

  it('the webhook is exempt only while it carries its own HMAC (WEBHOOK_SECRET)', () => {
    expect(isExemptFromInternalSigning('/api/v1/webhooks/orders', { webhookSecretSet: true })).toBe(true);
    expect(isExemptFromInternalSigning('/api/v1/webhooks/orders/', { webhookSecretSet: true })).toBe(true);
    expect(isExemptFromInternalSigning('/api/v1/webhooks/orders', { webhookSecretSet: false })).toBe(false);
  });
});
