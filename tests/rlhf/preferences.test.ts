import { describe, expect, test } from 'vitest';
import { parsePreferenceJsonl, PreferenceDataset, PreferenceParseError, type Ranking } from '../../src/rlhf/preferences';

function parseError(text: string): PreferenceParseError {
  try {
    parsePreferenceJsonl(text);
  } catch (e) {
    expect(e).toBeInstanceOf(PreferenceParseError);
    return e as PreferenceParseError;
  }
  throw new Error('expected a PreferenceParseError');
}

describe('parsePreferenceJsonl', () => {
  test('reads pairs, rankings and Anthropic HH pairs; skips blank lines; accepts CRLF and extra fields', () => {
    const text = [
      '{"prompt":"p1","chosen":"good","rejected":"bad","id":7}',
      '',
      '{"prompt":"p2","completions":["a","b","c","d"]}',
      '{"chosen":"\\n\\nHuman: hi\\n\\nAssistant: hello!","rejected":"\\n\\nHuman: hi\\n\\nAssistant: go away"}',
      '{"prompt":"p3","completions":["x",""],"source":"human","gold_order":[1,0]}',
    ].join('\r\n');
    const rs = parsePreferenceJsonl(text);
    expect(rs).toEqual<Ranking[]>([
      { prompt: 'p1', completions: ['good', 'bad'], source: 'imported' },
      { prompt: 'p2', completions: ['a', 'b', 'c', 'd'], source: 'imported' },
      { prompt: '\n\nHuman: hi\n\nAssistant:', completions: [' hello!', ' go away'], source: 'imported' },
      { prompt: 'p3', completions: ['x', ''], source: 'human', goldOrder: [1, 0] },
    ]);
  });

  test('reports every malformed line by its number in one error, and imports nothing', () => {
    const lines = [
      '{"prompt":"ok","chosen":"a","rejected":"b"}', // 1 fine
      '{"prompt":"p","chosen":"a"', // 2 bad JSON
      '[1,2]', // 3 not an object
      '{"prompt":"p","chosen":"a"}', // 4 missing rejected
      '{"prompt":"p","chosen":3,"rejected":"b"}', // 5 wrong type
      '{"prompt":"p","completions":[]}', // 6 empty completions
      '{"prompt":"p","completions":["only"]}', // 7 K < 2
      '{"prompt":"p","completions":["a","b","a"]}', // 8 duplicate completions
      '{"prompt":"p","chosen":"same","rejected":"same"}', // 9 chosen = rejected
      '{"completions":["a","b"]}', // 10 missing prompt
      '{"prompt":5,"completions":["a","b"]}', // 11 prompt not a string
      '{"prompt":"p","completions":["a",null]}', // 12 completion not a string
      '{"prompt":"p"}', // 13 no preference at all
      '{"chosen":"x","rejected":"y"}', // 14 no prompt and no HH prefix
      '{"prompt":"p","completions":["a","b"],"gold_order":[0,0]}', // 15 gold_order not a permutation
      '{"prompt":"p","completions":["a","b"],"source":"robot"}', // 16 unknown source
      '{"prompt":"ok2","completions":["a","b"]}', // 17 fine
    ];
    const e = parseError(lines.join('\n'));
    expect(e.problems.map((p) => p.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    const msg = (line: number) => e.problems.find((p) => p.line === line)!.message;
    expect(msg(2)).toMatch(/invalid JSON/);
    expect(msg(3)).toMatch(/got an array/);
    expect(msg(4)).toMatch(/missing "rejected"/);
    expect(msg(5)).toMatch(/"chosen" must be a string, got number/);
    expect(msg(6)).toMatch(/empty/);
    expect(msg(7)).toMatch(/K ≥ 2/);
    expect(msg(8)).toMatch(/distinct/);
    expect(msg(9)).toMatch(/same text/);
    expect(msg(10)).toMatch(/missing "prompt"/);
    expect(msg(11)).toMatch(/"prompt" must be a string/);
    expect(msg(12)).toMatch(/"completions"\[1\] must be a string, got null/);
    expect(msg(14)).toMatch(/missing "prompt"/);
    expect(msg(15)).toMatch(/permutation/);
    expect(msg(16)).toMatch(/source/);
    expect(e.message).toContain('15 malformed lines, nothing imported');
    expect(e.message).toContain('line 8:');
  });

  test('an empty file is an error', () => {
    expect(parseError('\n \n').problems[0].message).toMatch(/no preferences/);
  });
});

describe('PreferenceDataset', () => {
  test('add validates and copies; addPair; size and comparisons count C(K,2)', () => {
    const d = new PreferenceDataset();
    const r: Ranking = { prompt: 'p', completions: ['a', 'b', 'c', 'd'], source: 'simulated', goldOrder: [1, 0, 2, 3] };
    d.add(r);
    r.completions.push('e');
    d.addPair('q', 'yes', 'no', 'human');
    expect(d.size).toBe(2);
    expect(d.rankings[0].completions).toEqual(['a', 'b', 'c', 'd']);
    expect(d.comparisons).toBe(6 + 1);
    expect(() => d.add({ prompt: 'p', completions: ['a'], source: 'human' })).toThrow(/K ≥ 2/);
    expect(() => d.add({ prompt: 'p', completions: ['a', 'a'], source: 'human' })).toThrow(/distinct/);
    expect(() => d.addPair('p', 'a', 'b', 'robot' as never)).toThrow(/source/);
    expect(() => d.add({ prompt: 'p', completions: ['a', 'b'], source: 'human', goldOrder: [0, 2] })).toThrow(/permutation/);
    expect(d.size).toBe(2);
  });

  test('toJsonl / fromJsonl round-trip, source and goldOrder included', () => {
    const d = new PreferenceDataset([
      { prompt: 'p "quoted"\nline', completions: ['a', 'b', 'c', 'd'], source: 'simulated', goldOrder: [3, 2, 1, 0] },
      { prompt: 'q', completions: ['yes', ''], source: 'human' },
    ]);
    const text = d.toJsonl();
    expect(text.split('\n')).toHaveLength(3);
    expect(JSON.parse(text.split('\n')[1])).toEqual({ prompt: 'q', completions: ['yes', ''], source: 'human' });
    expect(PreferenceDataset.fromJsonl(text).rankings).toEqual(d.rankings);
  });

  test('split keeps every prompt on one side, is deterministic, and ignores insertion order', () => {
    const rs: Ranking[] = [];
    for (let p = 0; p < 50; p++) for (let k = 0; k < 2; k++) rs.push({ prompt: `prompt ${p}`, completions: [`a${k}`, `b${k}`], source: 'simulated' });
    const d = new PreferenceDataset(rs);
    const { train, heldout } = d.split(0.2, 7);
    expect(train.size + heldout.size).toBe(100);
    const heldPrompts = new Set(heldout.rankings.map((r) => r.prompt));
    expect(heldPrompts.size).toBe(10);
    expect(train.rankings.some((r) => heldPrompts.has(r.prompt))).toBe(false);
    const again = new PreferenceDataset(rs.slice().reverse()).split(0.2, 7);
    expect(new Set(again.heldout.rankings.map((r) => r.prompt))).toEqual(heldPrompts);
    expect(new Set(d.split(0.2, 8).heldout.rankings.map((r) => r.prompt))).not.toEqual(heldPrompts);
    expect(d.split(0, 7).heldout.size).toBe(0);
    expect(new PreferenceDataset(rs.slice(0, 4)).split(0.01, 1).heldout.size).toBe(2); // at least one prompt
    expect(() => d.split(1, 7)).toThrow(/heldoutFraction/);
  });
});
