import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const SERVICE_NAME = 'execution-gateway';

/** From package.json, found from src/ and from dist/src/ alike. */
export const SERVICE_VERSION: string = (() => {
  for (const up of ['../..', '../../..']) {
    try {
      return (JSON.parse(readFileSync(join(__dirname, up, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      /* try the next candidate */
    }
  }
  return 'unknown';
})();
