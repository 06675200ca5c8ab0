// aggregationWeights against hand-computed weights and against TRL's aggregation formulas written out as loops here
// (Σ_n w_n·loss_n must equal each formula's loss for any per-token losses), on seeded ragged batches whose responses
// start after a prompt (the packed layout), plus its argument checks.
import { describe, expect, test } from 'vitest';
import { seededRandom } from '../../src/model/data';
import { aggregationWeights, type LossAggregation } from '../../src/rlhf/loss-aggregation';
import { normal } from '../helpers/random';

/** B rows of T: a prompt of random length, then a response of random length; the first rows 0, T and 1 tokens. */
function raggedMask(B: number, T: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const mask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    const prompt = b === 1 ? 0 : Math.floor(random() * T);
    const length = b === 0 ? 0 : b === 1 ? T : b === 2 ? 1 : Math.floor(random() * (T - prompt + 1));
    mask.fill(1, b * T + prompt, b * T + prompt + length);
  }
  return mask;
}

describe('aggregationWeights', () => {
  // B = 3, T = 4: a 2-token response after a 1-token prompt, an empty row, a 4-token response; L_max = 4.
  const mask = [0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1];

  test('by hand for each loss type', () => {
    const want: Record<LossAggregation, number[]> = {
      grpo: [0, 1 / 6, 1 / 6, 0, 0, 0, 0, 0, 1 / 12, 1 / 12, 1 / 12, 1 / 12], // 1/(|o_i|·B)
      dapo: [0, 1 / 6, 1 / 6, 0, 0, 0, 0, 0, 1 / 6, 1 / 6, 1 / 6, 1 / 6], // 1/Σ|o_i| = 1/6
      dr_grpo: [0, 1 / 12, 1 / 12, 0, 0, 0, 0, 0, 1 / 12, 1 / 12, 1 / 12, 1 / 12], // 1/(B·L_max)
      sequence_sum: [0, 1 / 3, 1 / 3, 0, 0, 0, 0, 0, 1 / 3, 1 / 3, 1 / 3, 1 / 3], // 1/B
    };
    for (const [type, w] of Object.entries(want)) {
      expect(Array.from(aggregationWeights(mask, 4, type as LossAggregation, 4)), type).toEqual(w.map(Math.fround));
    }
    // L_max only enters dr_grpo.
    expect(aggregationWeights(mask, 4, 'dr_grpo', 8)[1]).toBe(Math.fround(1 / 24));
    expect(aggregationWeights(mask, 4, 'grpo', 8)).toEqual(aggregationWeights(mask, 4, 'grpo', 4));
  });

  test('Σ w·loss is each TRL aggregation of any per-token losses, on ragged batches', () => {
    for (const [B, T, seed] of [
      [5, 7, 1],
      [17, 12, 2],
      [64, 33, 3],
    ]) {
      const m = raggedMask(B, T, seed);
      const loss = normal(B * T, seed + 10);
      const rows = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => b * T + t).filter((i) => m[i] === 1));
      const rowSum = (r: number[]) => r.reduce((s, i) => s + loss[i], 0);
      const tokens = rows.reduce((s, r) => s + r.length, 0);
      const trl: Record<LossAggregation, number> = {
        // ((loss·mask).sum(-1) / mask.sum(-1).clamp(min=1)).mean()
        grpo: rows.reduce((s, r) => s + rowSum(r) / Math.max(r.length, 1), 0) / B,
        // (loss·mask).sum() / mask.sum()
        dapo: rows.reduce((s, r) => s + rowSum(r), 0) / tokens,
        // (loss·mask).sum() / (B·max_completion_length)
        dr_grpo: rows.reduce((s, r) => s + rowSum(r), 0) / (B * T),
        // (Σ_t loss·mask).mean() over sequences
        sequence_sum: rows.reduce((s, r) => s + rowSum(r), 0) / B,
      };
      for (const [type, want] of Object.entries(trl)) {
        const w = aggregationWeights(m, T, type as LossAggregation, T);
        const got = w.reduce((s, wn, i) => s + wn * loss[i], 0);
        // The weights are f32 (one rounding each, 6e-8 relative): the sums agree to ~1e-7 of Σ|w·loss|.
        const scale = w.reduce((s, wn, i) => s + Math.abs(wn * loss[i]), 0);
        expect(Math.abs(got - want), `${type} (${B},${T})`).toBeLessThan(1e-6 * scale);
        w.forEach((wn, i) => m[i] === 0 && expect(wn).toBe(0));
      }
    }
  });

  test('a batch without response tokens gets all-zero weights (no 0/0)', () => {
    for (const type of ['grpo', 'dapo', 'dr_grpo', 'sequence_sum'] as const) {
      expect(Array.from(aggregationWeights(new Float32Array(6), 3, type, 3))).toEqual([0, 0, 0, 0, 0, 0]);
    }
  });

  test('bad arguments are named', () => {
    expect(() => aggregationWeights(mask, 5, 'grpo', 4)).toThrow(/aggregationWeights: mask has length 12, not a positive multiple of T = 5/);
    expect(() => aggregationWeights([], 4, 'grpo', 4)).toThrow(/not a positive multiple/);
    expect(() => aggregationWeights(mask, 0, 'grpo', 4)).toThrow(/T must be a positive integer, got 0/);
    expect(() => aggregationWeights(mask, 4, 'bnpo' as LossAggregation, 4)).toThrow(/lossType must be one of grpo, dapo, dr_grpo, sequence_sum, got bnpo/);
    expect(() => aggregationWeights(mask, 4, 'dr_grpo', 2.5)).toThrow(/maxTokens must be a positive integer, got 2.5/);
    expect(() => aggregationWeights(mask, 4, 'dapo', 3)).toThrow(/row 2 has 4 response tokens, more than maxTokens = 3/);
    expect(() => aggregationWeights([0, 0.5, 1, 0], 4, 'dapo', 4)).toThrow(/mask\[1\] is 0.5, expected 0 or 1/);
  });
});
