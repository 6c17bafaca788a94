import { NUL_PROBLEM, SURROGATE_PROBLEM, textProblem, textProblems } from './text';

describe('textProblems', () => {
  it('passes ordinary text, numbers and nested structures', () => {
    expect(textProblems({ a: 'x', b: [1, 'ünïcødé 😀', { c: null }], d: true })).toEqual([]);
    expect(textProblems('plain')).toEqual([]);
    expect(textProblems(undefined)).toEqual([]);
  });

  it('names a NUL in a value at any depth by its path', () => {
    expect(textProblems({ reason: 'a\u0000b' })).toEqual([{ field: 'reason', problems: [NUL_PROBLEM] }]);
    expect(textProblems({ details: { notes: ['ok', 'x\u0000'] } })).toEqual([
      { field: 'details.notes.1', problems: [NUL_PROBLEM] },
    ]);
  });

  it('names a NUL in a key, printable', () => {
    const [p] = textProblems({ details: { 'k\u0000': 1 } });
    expect(p.field).toBe('details.k\\u0000');
    expect(p.problems[0]).toMatch(/^key must not contain a NUL/);
  });

  it('names a bare string by the prefix it is given', () => {
    expect(textProblems('a\u0000', 'client_order_id')).toEqual([{ field: 'client_order_id', problems: [NUL_PROBLEM] }]);
    expect(textProblems('\u0000')[0].field).toBe('body');
  });

  it('refuses lone surrogates and keeps pairs', () => {
    expect(textProblem('\ud83d\ude00')).toBeNull();
    expect(textProblem('a\ud83d')).toBe(SURROGATE_PROBLEM);
    expect(textProblem('\ude00a')).toBe(SURROGATE_PROBLEM);
  });

  it('reports every bad field, in document order', () => {
    expect(textProblems({ a: '\u0000', b: 'ok', c: '\u0000' }).map((p) => p.field)).toEqual(['a', 'c']);
  });

  it('walks a deep structure without recursion', () => {
    let deep: unknown = 'x\u0000';
    for (let i = 0; i < 50_000; i++) deep = [deep];
    expect(textProblems(deep)).toHaveLength(1);
  });
});
