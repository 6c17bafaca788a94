import { signWebhook, verifyWebhookSignature } from './webhook-signature';

const SECRET = 'webhook-secret-0123456789';
const BODY = Buffer.from('{"event":"fill"}');

describe('verifyWebhookSignature', () => {
  const hex = signWebhook(BODY, SECRET).slice('sha256='.length);

  it('accepts sha256=<hex> and the bare <hex>, in either case', () => {
    expect(verifyWebhookSignature(BODY, `sha256=${hex}`, SECRET)).toBe(true);
    expect(verifyWebhookSignature(BODY, hex, SECRET)).toBe(true);
    expect(verifyWebhookSignature(BODY, hex.toUpperCase(), SECRET)).toBe(true);
    expect(verifyWebhookSignature(BODY, ` ${hex} `, SECRET)).toBe(true);
  });

  it('refuses a missing, malformed, truncated or wrong signature', () => {
    expect(verifyWebhookSignature(BODY, undefined, SECRET)).toBe(false);
    expect(verifyWebhookSignature(BODY, '', SECRET)).toBe(false);
    expect(verifyWebhookSignature(BODY, 'sha1=' + hex, SECRET)).toBe(false);
    expect(verifyWebhookSignature(BODY, hex.slice(1), SECRET)).toBe(false);
    expect(verifyWebhookSignature(BODY, hex, 'another-secret-0123456789')).toBe(false);
    expect(verifyWebhookSignature(Buffer.from('{"event":"fill"} '), hex, SECRET)).toBe(false);
  });
});
