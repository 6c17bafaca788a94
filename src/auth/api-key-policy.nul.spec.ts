import { InputValidationError } from '../common/domain-error';
import { validateNewApiKey } from './api-key-policy';

describe('validateNewApiKey: text PostgreSQL refuses (docs/security.md#input-validation)', () => {
  it.each([
    [{ name: 'a\u0000', permissions: ['VIEW_ORDERS'], strategies: ['*'] }, 'name'],
    [{ name: 'ok', permissions: ['VIEW_ORDERS'], strategies: ['s\u0000'] }, 'strategies.0'],
    [{ name: 'ok', permissions: ['VIEW_\u0000'], strategies: ['*'] }, 'permissions.0'],
  ])('names the field: %j', (input, field) => {
    expect(() => validateNewApiKey(input)).toThrow(InputValidationError);
    try {
      validateNewApiKey(input);
    } catch (e) {
      expect((e as InputValidationError).fields.map((f) => f.field)).toEqual([field]);
    }
  });
});
