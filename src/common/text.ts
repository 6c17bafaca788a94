/**
 * Free text that reaches PostgreSQL (docs/security.md#input-validation):
 * PostgreSQL refuses a NUL character in `text` and `jsonb`, and a lone UTF-16
 * surrogate in `jsonb`, with an error that would otherwise surface as a 500.
 * Every door checks its raw input here first — the validation pipe over
 * bodies, queries and path parameters, and the doors that read a raw body
 * (the order command, webhooks, API keys) — and answers 422 naming the field.
 */
import type { FieldProblem } from './domain-error';

export const NUL_PROBLEM = 'must not contain a NUL character (\\u0000)';
export const SURROGATE_PROBLEM = 'must be well-formed Unicode (no lone surrogate)';

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The problem with one string, if any. */
export function textProblem(s: string): string | null {
  if (s.includes('\u0000')) return NUL_PROBLEM;
  if (LONE_SURROGATE.test(s)) return SURROGATE_PROBLEM;
  return null;
}

/** A key as it appears in a field path: printable, so the answer can name it. */
function printableKey(key: string): string {
  return JSON.stringify(key)
    .slice(1, -1)
    .replace(/[\ud800-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/**
 * Every string (values and keys, at any depth) in `root` that PostgreSQL
 * would refuse, named by its path (`details.note`, `permissions.0`);
 * `prefix` names `root` itself (a path parameter's name) and may be empty.
 * Iterative, so a deep body cannot overflow the stack.
 */
export function textProblems(root: unknown, prefix = ''): FieldProblem[] {
  const out: FieldProblem[] = [];
  const join = (path: string, key: string) => (path ? `${path}.${key}` : key);
  const stack: Array<[unknown, string]> = [[root, prefix]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      const p = textProblem(v);
      if (p) out.push({ field: path || 'body', problems: [p] });
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i];
      const keyProblem = textProblem(key);
      const childPath = join(path, keyProblem ? printableKey(key) : key);
      if (keyProblem) out.push({ field: childPath, problems: [`key ${keyProblem}`] });
      else stack.push([child, childPath]);
    }
  }
  return out;
}
