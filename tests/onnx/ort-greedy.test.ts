// The ONNX check's comparison logic (src/onnx/ort-greedy.ts), on made-up logits: the greedy rule (the first index of
// the maximum, as the engine's sampler at temperature 0), stopping after the EOS or at the length asked, each step
// seeing the sequence so far; and the largest logit difference (its step, NaN never hidden, mismatched lengths refused).
import { describe, expect, test } from 'vitest';
import { firstArgmax, greedyContinuation, largestLogitDifference } from '../../src/onnx/ort-greedy';

const V = 4;

/** Logits that make ids[n] the choice after a sequence of length n (the last id close behind); the sequences seen. */
function scripted(ids: number[]) {
  const seen: number[][] = [];
  const next = async (tokens: readonly number[]) => {
    seen.push([...tokens]);
    const logits = new Float32Array(V).fill(-1);
    const id = ids[tokens.length];
    logits[id] = 2;
    logits[V - 1] = id === V - 1 ? 2 : 2 - 1e-6; // just below, unless it is the choice
    return logits;
  };
  return { next, seen };
}

describe('greedyContinuation', () => {
  test('the first index of the maximum; NaN is never the choice', () => {
    expect(firstArgmax(Float32Array.of(1, 3, 3, 2))).toBe(1);
    expect(firstArgmax(Float32Array.of(NaN, -5, NaN, -4))).toBe(3);
    expect(firstArgmax(Float32Array.of(-Infinity, -Infinity))).toBe(0);
  });

  test('stops at maxNewTokens; each step sees the sequence so far; the logits rows are the steps’', async () => {
    const { next, seen } = scripted([0, 0, 2, 1, 3, 0, 2]);
    const { ids, logits } = await greedyContinuation(next, [0, 1], 4, 99);
    expect(ids).toEqual([2, 1, 3, 0]);
    expect(seen).toEqual([[0, 1], [0, 1, 2], [0, 1, 2, 1], [0, 1, 2, 1, 3]]);
    expect(logits.length).toBe(4 * V);
    expect(Array.from(logits.subarray(2 * V, 3 * V))).toEqual([-1, -1, -1, 2]);
  });

  test('stops after the EOS, which it includes', async () => {
    const { next } = scripted([0, 1, 2, 1, 2]);
    const { ids, logits } = await greedyContinuation(next, [0], 10, 1);
    expect(ids).toEqual([1]);
    expect(logits.length).toBe(V);
  });
});

describe('largestLogitDifference', () => {
  test('the largest absolute difference and the step it is at', () => {
    const a = Float32Array.of(0, 1, 2, 3, /* step 1 */ 4, 5, 6, 7, /* step 2 */ 8, 9, 10, 11);
    const b = a.map((x, i) => (i === 6 ? x - 0.5 : i === 9 ? x + 0.25 : x));
    expect(largestLogitDifference(a, b, V)).toEqual({ difference: 0.5, step: 1 });
    expect(largestLogitDifference(a, a, V)).toEqual({ difference: 0, step: 0 });
  });

  test('a NaN on either side makes the difference NaN, at its step', () => {
    const a = new Float32Array(3 * V);
    const b = new Float32Array(3 * V).fill(5);
    b[2 * V + 1] = NaN;
    expect(largestLogitDifference(a, b, V)).toEqual({ difference: NaN, step: 2 });
  });

  test('refuses logits of different lengths, or not whole steps', () => {
    expect(() => largestLogitDifference(new Float32Array(8), new Float32Array(4), V)).toThrow(/8 and 4 logits are not the same number of steps of 4/);
    expect(() => largestLogitDifference(new Float32Array(6), new Float32Array(6), V)).toThrow(/not the same number of steps/);
  });
});
