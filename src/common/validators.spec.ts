import { ArgumentMetadata } from '@nestjs/common';
import { IsOptional } from 'class-validator';
import { InputValidationError } from './domain-error';
import { StrictValidationPipe } from './validation.pipe';
import { Identifier, OneOf, Price, TickerSymbol, WholeQuantity } from './validators';

/** A body using every field decorator: they apply the same rules as the commands' `create(raw)`. */
class SampleDto {
  @TickerSymbol() symbol!: string;
  @WholeQuantity() qty!: string;
  @IsOptional() @Price() price?: string | null;
  @IsOptional() @OneOf(['a', 'b']) kind?: string;
  @IsOptional() @Identifier(8) ref?: string;
}

const pipe = new StrictValidationPipe();
const BODY: ArgumentMetadata = { type: 'body', metatype: SampleDto };

async function fields(body: unknown): Promise<string[]> {
  try {
    await pipe.transform(body, BODY);
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(InputValidationError);
    return (e as InputValidationError).fields.map((f) => f.field).sort();
  }
}

describe('field decorators through StrictValidationPipe', () => {
  it('normalize what they can', async () => {
    const out = (await pipe.transform({ symbol: ' brk.b ', qty: '25.0', price: 150.5 }, BODY)) as SampleDto;
    expect(out).toBeInstanceOf(SampleDto);
    expect(out).toMatchObject({ symbol: 'BRK.B', qty: '25', price: '150.5' });
  });

  it('name every bad field, unknown ones included', async () => {
    expect(
      await fields({ symbol: 'WAY_TOO_LONG_SYMBOL', qty: 0, price: '-1', kind: 'c', ref: 'x'.repeat(9), extra: 1 }),
    ).toEqual(['extra', 'kind', 'price', 'qty', 'ref', 'symbol']);
  });

  it('word the problem without repeating the field name', async () => {
    try {
      await pipe.transform({ symbol: 'AAPL', qty: 'ten' }, BODY);
      throw new Error('accepted');
    } catch (e) {
      const [qty] = (e as InputValidationError).fields;
      expect(qty.field).toBe('qty');
      expect(qty.problems[0]).toMatch(/^must be a whole number of shares/);
    }
  });

  it('refuse a body that is not an object, and name missing required fields', async () => {
    expect(await fields([1])).toEqual(['body']);
    expect(await fields({})).toEqual(['qty', 'symbol']);
  });
});
