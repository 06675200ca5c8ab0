import { describe, expect, test } from 'vitest';
import { attentionBackward, attentionForward } from '../../src/reference/attention';
import { dot, expectGradient } from '../helpers/finite-diff';
import { normal } from '../helpers/random';

describe('reference attention', () => {
  test('single key: the output is v, lse is the one score', () => {
    const dims = { B: 1, T: 1, C: 4, NH: 2 };
    const qkv = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    const { out, lse } = attentionForward(qkv, dims);
    expect([...out]).toEqual([9, 10, 11, 12]);
    // head 0: q·k = 1·5 + 2·6 = 17, head 1: 3·7 + 4·8 = 53, scaled by 1/√2
    expect(lse[0]).toBeCloseTo(17 / Math.SQRT2, 12);
    expect(lse[1]).toBeCloseTo(53 / Math.SQRT2, 12);
  });

  test('is causal: changing a later token leaves earlier outputs alone', () => {
    const dims = { B: 1, T: 5, C: 8, NH: 2 };
    const qkv = Float64Array.from(normal(5 * 24, 1));
    const before = attentionForward(qkv, dims).out;
    for (let i = 4 * 24; i < 5 * 24; i++) qkv[i] += 1;
    const after = attentionForward(qkv, dims).out;
    expect([...after.subarray(0, 4 * 8)]).toEqual([...before.subarray(0, 4 * 8)]);
  });

  test('backward matches central finite differences (B=2, T=5, C=8, NH=2)', () => {
    const dims = { B: 2, T: 5, C: 8, NH: 2 };
    const qkv = Float64Array.from(normal(2 * 5 * 24, 2));
    const w = Float64Array.from(normal(2 * 5 * 8, 3));
    const { att } = attentionForward(qkv, dims);
    const dqkv = attentionBackward(qkv, att, w, dims);
    expectGradient(dqkv, () => dot(attentionForward(qkv, dims).out, w), qkv, 'dattention/dqkv');
  });

  test('lse is the log of the softmax denominator', () => {
    const dims = { B: 1, T: 3, C: 4, NH: 1 };
    const qkv = Float64Array.from(normal(3 * 12, 4));
    const { lse } = attentionForward(qkv, dims);
    const q = (t: number) => qkv.subarray(t * 12, t * 12 + 4);
    const k = (t: number) => qkv.subarray(t * 12 + 4, t * 12 + 8);
    for (let t = 0; t < 3; t++) {
      let sum = 0;
      for (let t2 = 0; t2 <= t; t2++) sum += Math.exp(dot(q(t), k(t2)) / 2);
      expect(lse[t]).toBeCloseTo(Math.log(sum), 12);
    }
  });
});
