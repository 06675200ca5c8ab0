import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { DEFAULT_BYTES, DEFAULT_SEED, DEFAULT_SFT, generateCorpus, generateSft, toJsonl } from '../../src/cli/make-corpus';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { encodeSftExamples, importProblemsMessage, mixSeed, parseSftJsonl, seededRandom, SftParseError, sftBatch, TextBatcher } from '../../src/model/data';

const read = (name: string) => readFileSync(new URL(`../../public/corpus/${name}`, import.meta.url), 'utf8');

describe('seeded randomness', () => {
  test('same seed, same stream; different seeds differ', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(seededRandom(43)()).not.toBe(xs[0]);
    expect(mixSeed(1, 2, 3)).toBe(mixSeed(1, 2, 3));
    expect(mixSeed(1, 2, 3)).not.toBe(mixSeed(1, 3, 2));
  });
});

describe('parseSftJsonl', () => {
  test('parses prompt/completion lines, skips blank lines, accepts CRLF and extra fields', () => {
    const text = '{"prompt":"a","completion":"b"}\r\n\n  \n{"prompt":"","completion":"x\\ny","id":3}\n';
    expect(parseSftJsonl(text)).toEqual([
      { prompt: 'a', completion: 'b' },
      { prompt: '', completion: 'x\ny' },
    ]);
  });

  test('every malformed line is reported by number in one error; nothing is returned', () => {
    const text = [
      '{"prompt":"ok","completion":"fine"}', // 1
      '{"prompt":"a",', // 2 invalid JSON
      '', // 3 blank: skipped
      '{"prompt":"a"}', // 4 missing completion
      '{"prompt":1,"completion":null}', // 5 wrong types
      '["prompt","completion"]', // 6 not an object
      '{"prompt":"ok","completion":"fine"}', // 7
      '"just a string"', // 8 not an object
    ].join('\n');
    let error: unknown;
    try {
      parseSftJsonl(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SftParseError);
    const e = error as SftParseError;
    expect(e.problems.map((p) => p.line)).toEqual([2, 4, 5, 6, 8]);
    expect(e.message).toMatch(/^SFT JSONL: 5 malformed lines, nothing imported:/);
    expect(e.message).toMatch(/line 2: invalid JSON/);
    expect(e.message).toMatch(/line 4: missing "completion"/);
    expect(e.message).toMatch(/line 5: "prompt" must be a string, got number; "completion" must be a string, got null/);
    expect(e.message).toMatch(/line 6: expected an object .*got an array/);
    expect(e.message).toMatch(/line 8: expected an object .*got string/);
  });

  test('a file without examples is an error', () => {
    expect(() => parseSftJsonl('\n\n')).toThrow(/no examples/);
  });

  test('an import error lists its first 20 problems, then how many more there are', () => {
    const problems = Array.from({ length: 22 }, (_, i) => ({ line: i + 1, message: `bad ${i + 1}` }));
    const lines = importProblemsMessage('SFT JSONL', 'malformed line', problems).split('\n');
    expect(lines[0]).toBe('SFT JSONL: 22 malformed lines, nothing imported:');
    expect(lines.slice(1, 3)).toEqual(['  line 1: bad 1', '  line 2: bad 2']);
    expect(lines.slice(20)).toEqual(['  line 20: bad 20', '  … and 2 more (see .problems)']);
    expect(importProblemsMessage('custom task import', 'problem', problems.slice(0, 1), (p) => `sft line ${p.line}: ${p.message}`)).toBe(
      'custom task import: 1 problem, nothing imported:\n  sft line 1: bad 1',
    );
  });

  test('long lists are capped in the message but complete in .problems', () => {
    const text = Array.from({ length: 80 }, () => 'nope').join('\n');
    try {
      parseSftJsonl(text);
      expect.unreachable();
    } catch (e) {
      expect((e as SftParseError).problems.length).toBe(80);
      expect((e as Error).message).toMatch(/… and 60 more/);
    }
  });
});

describe('TextBatcher', () => {
  // Token i has id i, so a window's contents reveal where it came from.
  const ids = Uint32Array.from({ length: 1000 }, (_, i) => i);

  test('shapes, shifted targets, all-one weights; windows stay inside the training split', () => {
    const batcher = new TextBatcher(ids, { batchSize: 4, contextLength: 16, seed: 1 });
    expect(batcher.train.length).toBe(950);
    expect(batcher.val.length).toBe(50);
    expect(batcher.val[0]).toBe(950);
    for (let step = 0; step < 50; step++) {
      const b = batcher.batch('train', step);
      expect([b.B, b.T, b.tokens.length, b.targets.length, b.weights.length]).toEqual([4, 16, 64, 64, 64]);
      expect(b.tokens).toBeInstanceOf(Uint32Array);
      expect(b.weights).toBeInstanceOf(Float32Array);
      const bad: string[] = [];
      for (let r = 0; r < 4; r++) {
        for (let t = 0; t < 16; t++) {
          const i = r * 16 + t;
          if (b.tokens[i] !== b.tokens[r * 16] + t) bad.push(`step ${step} row ${r} t ${t}: not consecutive`);
          if (b.targets[i] !== b.tokens[i] + 1) bad.push(`step ${step} row ${r} t ${t}: target is not the next token`);
          if (b.weights[i] !== 1) bad.push(`step ${step} row ${r} t ${t}: weight ${b.weights[i]}`);
        }
        if (b.targets[r * 16 + 15] >= 950) bad.push(`step ${step} row ${r}: reads validation token ${b.targets[r * 16 + 15]}`);
      }
      expect(bad).toEqual([]);
    }
  });

  test('batch(split, step) is a pure function of (seed, split, step)', () => {
    const a = new TextBatcher(ids, { batchSize: 3, contextLength: 8, seed: 5 });
    const b = new TextBatcher(ids, { batchSize: 3, contextLength: 8, seed: 5 });
    expect(b.batch('train', 7)).toEqual(a.batch('train', 7));
    expect(a.batch('train', 7)).toEqual(a.batch('train', 7));
    expect(a.batch('train', 8).tokens).not.toEqual(a.batch('train', 7).tokens);
    expect(new TextBatcher(ids, { batchSize: 3, contextLength: 8, seed: 6 }).batch('train', 7).tokens).not.toEqual(a.batch('train', 7).tokens);
    const v = a.batch('val', 0);
    for (const x of v.tokens) expect(x).toBeGreaterThanOrEqual(950);
  });

  test('every training window start is reachable (first and last)', () => {
    const small = Uint32Array.from({ length: 12 }, (_, i) => i);
    const batcher = new TextBatcher(small, { batchSize: 8, contextLength: 4, seed: 3, valFraction: 0 });
    const starts = new Set<number>();
    for (let step = 0; step < 50; step++) {
      const b = batcher.batch('train', step);
      for (let r = 0; r < 8; r++) starts.add(b.tokens[r * 4]);
    }
    expect([...starts].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]); // 12 − (4+1) + 1 starts
  });

  test('valBatches: consecutive windows, last batch padded with weight-0 rows', () => {
    const batcher = new TextBatcher(ids, { batchSize: 2, contextLength: 8, seed: 1, valFraction: 0.04 });
    // validation = ids 960..999 (40 tokens) → floor(39/8) = 4 windows at 960, 968, 976, 984 → 2 batches
    const batches = batcher.valBatches();
    expect(batches.length).toBe(2);
    expect(Array.from(batches[1].tokens.subarray(0, 8))).toEqual([976, 977, 978, 979, 980, 981, 982, 983]);
    expect(batches[1].targets[15]).toBe(992);
    const three = new TextBatcher(ids, { batchSize: 3, contextLength: 8, seed: 1, valFraction: 0.04 }).valBatches();
    expect(three.length).toBe(2);
    expect(Array.from(three[1].weights)).toEqual([...Array(8).fill(1), ...Array(16).fill(0)]);
    expect(Array.from(three[1].tokens.subarray(8))).toEqual(Array(16).fill(0));
    expect(batcher.valBatches(1).length).toBe(1);
  });

  test('clear errors for bad options and too little text', () => {
    expect(() => new TextBatcher(ids, { batchSize: 0, contextLength: 8, seed: 1 })).toThrow(/batch size must be an integer ≥ 1, got 0/);
    expect(() => new TextBatcher(ids, { batchSize: 2, contextLength: 2.5, seed: 1 })).toThrow(/context length/);
    expect(() => new TextBatcher(ids, { batchSize: 2, contextLength: 8, seed: 1, valFraction: 1 })).toThrow(/valFraction/);
    expect(() => new TextBatcher(ids.subarray(0, 8), { batchSize: 2, contextLength: 8, seed: 1 })).toThrow(/training split has 8 tokens/);
    expect(() => new TextBatcher(ids.subarray(0, 100), { batchSize: 2, contextLength: 8, seed: 1 })).toThrow(/validation split has 5 tokens/);
    const noVal = new TextBatcher(ids.subarray(0, 100), { batchSize: 2, contextLength: 8, seed: 1, valFraction: 0 });
    expect(() => noVal.valBatches()).toThrow(/no validation split/);
  });
});

describe('sftBatch', () => {
  const tok = CharTokenizer.fromText('abcdefuvwxyz');
  const { bos, eos, pad, sep } = tok.special;
  const c = (s: string) => Array.from(tok.encode(s));

  test('layout: BOS prompt SEP completion EOS PAD…; weights on completion and EOS targets only', () => {
    const b = sftBatch([{ prompt: 'ab', completion: 'xyz' }], tok, 1, 10, [0]);
    // S = BOS a b SEP x y z EOS PAD PAD PAD (m = 2, n = 3)
    expect(Array.from(b.tokens)).toEqual([bos, ...c('ab'), sep, ...c('xyz'), eos, pad, pad]);
    expect(Array.from(b.targets)).toEqual([...c('ab'), sep, ...c('xyz'), eos, pad, pad, pad]);
    // t = 3 (input SEP → x) … t = 6 (input z → EOS)
    expect(Array.from(b.weights)).toEqual([0, 0, 0, 1, 1, 1, 1, 0, 0, 0]);
    expect(Array.from(b.truncated)).toEqual([0]);
  });

  test('exact fit, empty prompt, empty completion', () => {
    const b = sftBatch(
      [
        { prompt: 'abc', completion: 'xy' }, // L = 8 = T + 1
        { prompt: '', completion: 'x' },
        { prompt: 'ab', completion: '' },
      ],
      tok,
      3,
      7,
      [0, 1, 2],
    );
    const row = (r: number, a: ArrayLike<number>) => Array.from(a).slice(r * 7, r * 7 + 7);
    expect(row(0, b.tokens)).toEqual([bos, ...c('abc'), sep, ...c('xy')]);
    expect(row(0, b.targets)).toEqual([...c('abc'), sep, ...c('xy'), eos]);
    expect(row(0, b.weights)).toEqual([0, 0, 0, 0, 1, 1, 1]);
    expect(row(1, b.tokens)).toEqual([bos, sep, ...c('x'), eos, pad, pad, pad]);
    expect(row(1, b.weights)).toEqual([0, 1, 1, 0, 0, 0, 0]);
    expect(row(2, b.targets)).toEqual([...c('ab'), sep, eos, pad, pad, pad]);
    expect(row(2, b.weights)).toEqual([0, 0, 0, 1, 0, 0, 0]); // only "SEP → EOS"
    expect(Array.from(b.truncated)).toEqual([0, 0, 0]);
  });

  test('truncation: prompt cut from the left first; a too-long completion is cut on the right without EOS', () => {
    const b = sftBatch(
      [
        { prompt: 'abcdef', completion: 'xy' }, // L = 11 > 8: keep the last 3 prompt tokens
        { prompt: 'ab', completion: 'uvwxyzab' }, // even with no prompt 11 > 8: completion cut to T−1 = 6 tokens, no EOS
      ],
      tok,
      2,
      7,
      [0, 1],
    );
    const row = (r: number, a: ArrayLike<number>) => Array.from(a).slice(r * 7, r * 7 + 7);
    expect(row(0, b.tokens)).toEqual([bos, ...c('def'), sep, ...c('xy')]);
    expect(row(0, b.targets)).toEqual([...c('def'), sep, ...c('xy'), eos]);
    expect(row(0, b.weights)).toEqual([0, 0, 0, 0, 1, 1, 1]);
    expect(row(1, b.tokens)).toEqual([bos, sep, ...c('uvwxy')]);
    expect(row(1, b.targets)).toEqual([sep, ...c('uvwxyz')]);
    expect(row(1, b.weights)).toEqual([0, 1, 1, 1, 1, 1, 1]);
    expect(Array.from(b.truncated)).toEqual([1, 1]);
  });

  test('seeded picking is deterministic; encoded and raw examples give the same batch', () => {
    const examples = Array.from({ length: 20 }, (_, i) => ({ prompt: 'abc'.slice(0, i % 4), completion: 'xyz'.slice(0, 1 + (i % 3)) }));
    const a = sftBatch(examples, tok, 8, 12, 99);
    expect(sftBatch(examples, tok, 8, 12, 99)).toEqual(a);
    expect(sftBatch(encodeSftExamples(examples, tok), tok, 8, 12, 99)).toEqual(a);
    expect(sftBatch(examples, tok, 8, 12, 100).indices).not.toEqual(a.indices);
    for (const i of a.indices) expect(i).toBeLessThan(20);
  });

  test('clear errors', () => {
    const ex = [{ prompt: 'a', completion: 'b' }];
    expect(() => sftBatch(ex, tok, 2, 8, [0])).toThrow(/got 1 indices for a batch of 2/);
    expect(() => sftBatch(ex, tok, 1, 8, [1])).toThrow(/index 1 \(row 0\) is not an example index in \[0, 1\)/);
    expect(() => sftBatch(ex, tok, 1, 1, 0)).toThrow(/context length must be an integer ≥ 2/);
    expect(() => sftBatch([], tok, 1, 8, 0)).toThrow(/no examples/);
  });
});

describe('bundled corpus', () => {
  test('public/corpus is exactly what make-corpus generates with the documented seed', () => {
    const text = read('tiny-stories.txt');
    expect(text).toBe(generateCorpus(DEFAULT_SEED, DEFAULT_BYTES));
    expect(new TextEncoder().encode(text).length).toBeLessThanOrEqual(2_000_000);
    expect(read('sft-demo.jsonl')).toBe(toJsonl(generateSft(DEFAULT_SEED, DEFAULT_SFT)));
    const readme = read('README.md');
    expect(readme).toContain('CC0-1.0');
    expect(readme).toContain(`--seed ${DEFAULT_SEED} --bytes ${DEFAULT_BYTES} --sft ${DEFAULT_SFT}`);
  });

  test('sft-demo.jsonl parses and builds batches with a tokenizer of the corpus', () => {
    const examples = parseSftJsonl(read('sft-demo.jsonl'));
    expect(examples.length).toBe(DEFAULT_SFT);
    const tok = CharTokenizer.fromText(read('tiny-stories.txt'));
    const b = sftBatch(examples, tok, 16, 128, 1);
    expect(b.weights.reduce((s, w) => s + w, 0)).toBeGreaterThan(16);
    expect(tok.encode(examples.map((e) => e.prompt + e.completion).join('')).includes(tok.unk)).toBe(false);
  });
});
