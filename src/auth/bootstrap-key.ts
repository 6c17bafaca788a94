/**
 * The bootstrap admin key, once generated (docs/operations.md#embedded-defaults-and-the-first-start):
 * kept here until the gateway listens, then shown once in a box after the
 * "listening" line (main.ts), and written to a file only its owner can read.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Injectable } from '@nestjs/common';

@Injectable()
export class BootstrapKeyNotice {
  /** The generated key, when this start generated one. */
  key?: string;
  /** Where it was written; absent when writing failed. */
  file?: string;
}

/** The key file's text: what it is and how to use it, the key alone on the last line. */
export function bootstrapKeyFileText(key: string, generatedAt: Date, path: string): string {
  return [
    `# Execution Gateway bootstrap admin API key, generated ${generatedAt.toISOString()}`,
    '# because neither ADMIN_API_KEY nor any stored API key existed. It has every permission.',
    '# Send it as "Authorization: Bearer <key>" or "X-API-Key: <key>", e.g.',
    `#   curl -H "Authorization: Bearer $(tail -n1 ${path})" http://localhost:8002/api/v1/orders`,
    '# Create named keys with it (npm run keys, or POST /api/v1/admin/api-keys), then revoke it',
    '# and delete this file. Only its hash is stored: once this file is gone the key cannot be shown again.',
    key,
    '',
  ].join('\n');
}

/** Writes the key file with mode 0600 (also when it already existed with a wider mode). */
export function writeBootstrapKeyFile(path: string, key: string, generatedAt: Date): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bootstrapKeyFileText(key, generatedAt, path), { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** The box printed after the "listening" line. */
export function bootstrapKeyBox(key: string, file: string | undefined): string {
  const body = [
    'No ADMIN_API_KEY and no stored API keys: generated a bootstrap admin key.',
    '',
    `  ${key}`,
    '',
    'Use it as "Authorization: Bearer <key>" or "X-API-Key: <key>".',
    file ? `Also saved to ${file} (mode 0600, readable by its owner only).` : 'It is not shown again: keep it now.',
  ];
  const width = Math.max(...body.map((l) => l.length));
  const rule = '─'.repeat(width + 2);
  return ['', `┌${rule}┐`, ...body.map((l) => `│ ${l.padEnd(width)} │`), `└${rule}┘`, '', ''].join('\n');
}
