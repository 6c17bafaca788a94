/**
 * Tests that provoke errors on purpose must not print lines that look like
 * failures. Unless TEST_LOG=1: Nest's logger (used by services outside an app,
 * and by an app before its own logger is set) prints nothing, and console
 * output is captured instead of printed (each test file's calls stay on the
 * console mocks, for a test that wants to read them). Test apps log at
 * `silent` unless TEST_LOG=1 (test/support/app.ts).
 */
import { Logger } from '@nestjs/common';

if (process.env.TEST_LOG !== '1') {
  Logger.overrideLogger(false);
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    jest.spyOn(console, method).mockImplementation(() => undefined);
  }
}
