export function staleReason(builtAtMs: number | null, inputs: Array<{ path: string; mtimeMs: number }>): string | null;
export function scanInputs(root: string): Array<{ path: string; mtimeMs: number }>;
export function builtAt(root: string): number | null;
