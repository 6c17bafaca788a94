import fc from 'fast-check';
import { InputValidationError } from '../../common/domain-error';
import { decodeCursor, encodeCursor } from './query-orders.use-case';

/** The largest value of the PostgreSQL BIGINT `seq` column. */
const BIGINT_MAX = '9223372036854775807';

const refusal = (cursor: string): InputValidationError => {
  let caught: unknown;
  try {
    decodeCursor(cursor);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(InputValidationError);
  return caught as InputValidationError;
};

describe('order list cursors', () => {
  it('round-trips a sequence number', () => {
    for (const seq of ['0', '1', '42', '1000000', BIGINT_MAX]) {
      expect(decodeCursor(encodeCursor(seq))).toBe(seq);
    }
  });

  it('is opaque base64url text that the list query accepts (1-32 of A-Z a-z 0-9 _ -)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: BigInt(1), max: BigInt(BIGINT_MAX) }), (n) => {
        const cursor = encodeCursor(n.toString());
        expect(cursor).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
        expect(cursor).not.toContain(n.toString());
        expect(decodeCursor(cursor)).toBe(n.toString());
      }),
    );
  });

  it.each<[string, string]>([
    ['a word', 'garbage'],
    ['an empty string', ''],
    ['base64 of a non-number', encodeCursor('abc')],
    ['base64 of a negative number', encodeCursor('-1')],
    ['base64 of a decimal', encodeCursor('1.5')],
    ['base64 of a number with a trailing newline', encodeCursor('12\n')],
    ['base64 of 20 digits', encodeCursor('12345678901234567890')],
    ['base64 without the prefix', Buffer.from('12', 'utf8').toString('base64url')],
    ['base64 with another prefix', Buffer.from('x:12', 'utf8').toString('base64url')],
  ])('%s is refused naming cursor', (_name, cursor) => {
    const e = refusal(cursor);
    expect(e.fields).toEqual([{ field: 'cursor', problems: ['is not a valid cursor'] }]);
    expect(e.kind).toBe('invalid');
  });

  it('random strings never decode to anything but a digit string, else are refused', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (cursor) => {
        let decoded: string | undefined;
        try {
          decoded = decodeCursor(cursor);
        } catch (e) {
          expect(e).toBeInstanceOf(InputValidationError);
          return;
        }
        expect(decoded).toMatch(/^\d{1,19}$/);
      }),
    );
  });

  it('a 19-digit value beyond the BIGINT range is refused as input, not left to fail in the database', () => {
    // "never a 500 for bad input" (docs/api.md#reading-orders): the seq column is BIGINT, so no issued cursor can exceed its maximum.
    refusal(encodeCursor('9223372036854775808'));
    refusal(encodeCursor('9999999999999999999'));
  });
});
