import { describe, expect, test } from 'vitest';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { encodeQuery, encodeResponse, packSequences, responseValues, toGrid } from '../../src/rlhf/sequences';

const tok = CharTokenizer.fromText('abcdefghij ');
const { bos, sep, eos, pad } = tok.special;

describe('sequence layout for the reward model, the value model and PPO', () => {
  test('a query is [BOS, prompt, SEP]; a long prompt loses its first tokens; a response text ends with EOS', () => {
    expect(Array.from(encodeQuery(tok, 'abc', 10))).toEqual([bos, ...tok.encode('abc'), sep]);
    expect(Array.from(encodeQuery(tok, 'abcdef', 5))).toEqual([bos, ...tok.encode('def'), sep]);
    expect(Array.from(encodeResponse(tok, 'hij', 10))).toEqual([...tok.encode('hij'), eos]);
    expect(Array.from(encodeResponse(tok, 'hij', 3))).toEqual([...tok.encode('hi'), eos]);
    expect(() => encodeQuery(tok, 'a', 1)).toThrow(RangeError);
  });

  test('rows are right-padded; targets are the next tokens; the mask covers exactly the response targets', () => {
    const q = [encodeQuery(tok, 'ab', 20), encodeQuery(tok, 'abcd', 20)];
    const r = [Uint32Array.from([...tok.encode('x'.replace('x', 'e')), eos]), Uint32Array.from(tok.encode('fgh'))];
    const b = packSequences(q, r, pad, 32);
    // row 0: BOS a b SEP e EOS (6 tokens); row 1: BOS a b c d SEP f g h (9 tokens, no EOS)
    expect([b.B, b.T]).toEqual([2, 9]);
    expect(Array.from(b.tokens.subarray(0, 9))).toEqual([bos, ...tok.encode('ab'), sep, ...tok.encode('e'), eos, pad, pad, pad]);
    expect(Array.from(b.targets.subarray(0, 9))).toEqual([...tok.encode('ab'), sep, ...tok.encode('e'), eos, pad, pad, pad, pad]);
    expect(Array.from(b.mask.subarray(0, 9))).toEqual([0, 0, 0, 1, 1, 0, 0, 0, 0]);
    expect(Array.from(b.mask.subarray(9))).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 0]);
    expect(Array.from(b.start)).toEqual([3, 5]);
    expect(Array.from(b.lengths)).toEqual([2, 3]);
    expect(Array.from(b.last)).toEqual([5, 8]);
    // The masked targets are the response tokens, in order.
    for (let row = 0; row < 2; row++) {
      const picked = Array.from(b.targets.subarray(row * 9, row * 9 + 9)).filter((_, t) => b.mask[row * 9 + t] === 1);
      expect(picked).toEqual(Array.from(r[row]));
    }
  });

  test('per-row response values and back to the grid', () => {
    const b = packSequences([encodeQuery(tok, 'a', 9), encodeQuery(tok, 'abc', 9)], [Uint32Array.of(1, 2, eos), Uint32Array.of(eos)], pad, 16);
    const grid = Float32Array.from({ length: b.B * b.T }, (_, i) => i);
    const rows = responseValues(b, grid);
    expect(rows.map((x) => Array.from(x))).toEqual([[2, 3, 4], [b.T + 4]]);
    const back = toGrid(b, rows);
    expect(Array.from(back).filter((_, i) => b.mask[i] === 1)).toEqual([2, 3, 4, b.T + 4]);
    expect(Array.from(back).filter((_, i) => b.mask[i] === 0).every((x) => x === 0)).toBe(true);
    expect(() => toGrid(b, [[1], [2]])).toThrow(/row 0 has 1 values for 3 response tokens/);
  });

  test('sequences over the context length and mismatched inputs are errors', () => {
    expect(() => packSequences([encodeQuery(tok, 'abcdef', 20)], [Uint32Array.of(1, 2, 3)], pad, 8)).toThrow(/over the context length 8/);
    expect(() => packSequences([], [], pad, 8)).toThrow(/no sequences/);
    expect(() => packSequences([encodeQuery(tok, 'a', 5)], [], pad, 8)).toThrow(/1 queries but 0 responses/);
  });
});
