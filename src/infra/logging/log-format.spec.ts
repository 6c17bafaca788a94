import fc from 'fast-check';
import { chooseLogFormat } from './log-format';

describe('chooseLogFormat', () => {
  it('is pretty on a terminal outside production', () => {
    expect(chooseLogFormat({}, true)).toBe('pretty');
    expect(chooseLogFormat({ NODE_ENV: 'development' }, true)).toBe('pretty');
    expect(chooseLogFormat({ LOG_FORMAT: 'auto' }, true)).toBe('pretty');
  });

  it('is JSON when stdout is not a terminal (a pipe, a container log)', () => {
    expect(chooseLogFormat({}, false)).toBe('json');
  });

  it('is JSON in production, terminal or not', () => {
    expect(chooseLogFormat({ NODE_ENV: 'production' }, true)).toBe('json');
    expect(chooseLogFormat({ ENVIRONMENT: 'Production ' }, true)).toBe('json');
  });

  it('follows LOG_FORMAT when it names a format, whatever else holds', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('json', 'pretty', ' JSON', 'Pretty'),
        fc.option(fc.constantFrom('production', 'development', 'test')),
        fc.boolean(),
        (format, nodeEnv, tty) => {
          const env = { LOG_FORMAT: format, NODE_ENV: nodeEnv ?? undefined };
          expect(chooseLogFormat(env, tty)).toBe(format.trim().toLowerCase());
        },
      ),
    );
  });
});
