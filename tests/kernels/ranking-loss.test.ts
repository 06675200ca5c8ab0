import { describe, expect, test } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { rankingLossForwardBackward, validateRankingGroups } from '../../src/kernels/ranking-loss';
import * as ref from '../../src/reference/ranking-loss';
import { gpuTest } from '../helpers/gpu';
import { integers, normal, rng } from '../helpers/random';
import { expectClose, expectFinite, type Tolerance } from '../helpers/tolerance';

// Loss: a mean of ≤ 36 softplus terms, each max(x,0) + log1p(e^−|x|) good to a few ulp (the series below 1/16 and
// the built-in log above it), summed in f32: ≲ 1e-6 relative. The atol covers the last bits of near-zero means.
const LOSS: Tolerance = { atol: 1e-7, rtol: 3e-6 };
// Gradient: ≤ 8 sigmoids (a few ulp each) summed, times gradScale/C(K,2): ≲ 1e-6 relative of the largest term.
const DSCORES: Tolerance = { atol: 1e-8, rtol: 3e-6 };

function offsetsOf(sizes: readonly number[]): Uint32Array {
  const offsets = new Uint32Array(sizes.length + 1);
  sizes.forEach((k, g) => (offsets[g + 1] = offsets[g] + k));
  return offsets;
}

interface Case {
  sizes: number[]; // K of each group
  T: number;
  extreme?: boolean; // last-position scores ±5e3: gaps of ±1e4
}

async function run(rt: GpuRuntime, c: Case, seed: number) {
  const offsets = offsetsOf(c.sizes);
  const G = c.sizes.length;
  const B = offsets[G];
  const { T } = c;
  const last = integers(B, T, seed);
  // Scores away from the last positions are NaN: the kernel must never read them.
  const s = new Float32Array(B * T).fill(NaN);
  const r = c.extreme ? Float32Array.from({ length: B }, (_, b) => (rng(seed + b)() < 0.5 ? -5e3 : 5e3)) : normal(B, seed + 1, 2);
  for (let b = 0; b < B; b++) s[b * T + last[b]] = r[b];
  validateRankingGroups(offsets, last, B, T);
  const scores = rt.upload(s, [B, T, 1], 'scores');
  const lastT = rt.upload(last, [B], 'last', 'u32');
  const offsetsT = rt.upload(offsets, [G + 1], 'offsets', 'u32');
  const losses = rt.upload(new Float32Array(G).fill(NaN), [G], 'losses'); // garbage: every element is written
  const dscores = rt.upload(new Float32Array(B * T).fill(NaN), [B, T, 1], 'dscores');
  const gradScale = 1 / G;
  const step = rt.step('ranking loss');
  rankingLossForwardBackward(step, scores, lastT, offsetsT, losses, dscores, gradScale);
  const [l, d] = [step.read(losses), step.read(dscores)];
  await step.submit();
  const out = { losses: await l, dscores: await d };
  rt.free(scores, lastT, offsetsT, losses, dscores);
  return { out, s, last, offsets, B, gradScale };
}

describe('ranking_loss_forward_backward', () => {
  const uneven = [3, 2, 9, 4, 7, 5, 8, 6]; // K = 2..9
  // 300 groups of K = 2..4: more groups than one workgroup of loss threads.
  const many = Array.from({ length: 300 }, (_, g) => 2 + (g % 3));
  const cases: Case[] = [
    { sizes: [2], T: 1 },
    { sizes: uneven, T: 1 },
    { sizes: uneven, T: 33 },
    { sizes: many, T: 1 },
    { sizes: [9, 2, 5], T: 33, extreme: true },
  ];
  for (const c of cases) {
    const label = `G=${c.sizes.length} B=${c.sizes.reduce((a, b) => a + b, 0)} T=${c.T}${c.extreme ? ' score gaps ±1e4' : ''}`;
    gpuTest(`losses and dscores match the float64 reference, ${label}`, async ({ rt }) => {
      const { out, s, last, offsets, B, gradScale } = await run(rt, c, c.sizes.length * 10 + c.T);
      expectClose(out.losses, ref.rankingLossForward(s, last, offsets, c.T), LOSS, 'ranking losses');
      expectClose(out.dscores, ref.rankingLossBackward(s, last, offsets, gradScale, B, c.T), DSCORES, 'ranking dscores');
      expectFinite(out.losses, 'ranking losses');
      expectFinite(out.dscores, 'ranking dscores');
      // Exactly zero away from the last positions (not merely close).
      for (let i = 0; i < B * c.T; i++) if (i % c.T !== last[Math.floor(i / c.T)]) expect(out.dscores[i]).toBe(0);
      // Each group's gradient sums to zero: the loss depends on score differences only.
      for (let g = 0; g < c.sizes.length; g++) {
        let sum = 0;
        for (let b = offsets[g]; b < offsets[g + 1]; b++) sum += out.dscores[b * c.T + last[b]];
        expect(Math.abs(sum)).toBeLessThan(1e-6 * gradScale);
      }
    });
  }

  gpuTest('a malformed group (K = 1) or a last position ≥ T gives NaN in its group only; other groups are exact', async ({ rt }) => {
    const T = 2;
    const offsets = Uint32Array.from([0, 1, 3, 5]); // group 0 has K = 1
    const last = Uint32Array.from([0, 1, 0, 7, 1]); // row 3's last position is past T
    const s = normal(5 * T, 3);
    const scores = rt.upload(s, [5, T], 'scores');
    const lastT = rt.upload(last, [5], 'last', 'u32');
    const offsetsT = rt.upload(offsets, [4], 'offsets', 'u32');
    const losses = rt.tensor([3], 'losses');
    const dscores = rt.upload(new Float32Array(5 * T).fill(42), [5, T], 'dscores');
    const step = rt.step('ranking bad groups');
    rankingLossForwardBackward(step, scores, lastT, offsetsT, losses, dscores, 1);
    const [l, d] = [step.read(losses), step.read(dscores)];
    await step.submit();
    const [lv, dv] = [await l, await d];
    expect(Number.isNaN(lv[0]) && Number.isNaN(lv[2])).toBe(true);
    expect(Number.isNaN(dv[0]) && Number.isNaN(dv[9])).toBe(true); // row 0's and row 4's last positions
    expect([dv[1], dv[6], dv[7], dv[8]]).toEqual([0, 0, 0, 0]); // row 3 has no position 7: zero, as away from last
    const good = { s: [s[3], s[4]], last: [0, 0], offsets: [0, 2] }; // group 1: rows 1 (last 1) and 2 (last 0)
    expectClose([lv[1]], ref.rankingLossForward(good.s, good.last, good.offsets, 1), LOSS, 'the valid group');
    expectClose([dv[3], dv[4]], ref.rankingLossBackward(good.s, good.last, good.offsets, 1, 2, 1), DSCORES, 'the valid group dscores');
    expect([dv[2], dv[5]]).toEqual([0, 0]);
    rt.free(scores, lastT, offsetsT, losses, dscores);
  });

  gpuTest('wrong shapes are rejected before anything runs', async ({ rt }) => {
    const k = 'ranking_loss_forward_backward';
    const [B, T, G] = [4, 3, 2];
    const scores = rt.tensor([B, T, 1], 'scores');
    const odd = rt.tensor([B * T + 1], 'odd-scores');
    const transposed = rt.tensor([T, B], 'transposed-scores');
    const last = rt.tensor([B], 'last', 'u32');
    const flast = rt.tensor([B], 'f32-last');
    const offsets = rt.tensor([G + 1], 'offsets', 'u32');
    const one = rt.tensor([1], 'one-offset', 'u32');
    const losses = rt.tensor([G], 'losses');
    const dscores = rt.tensor([B, T], 'dscores');
    const step = rt.step('bad');
    expect(() => rankingLossForwardBackward(step, odd, last, offsets, losses, dscores, 1)).toThrow(new RegExp(`${k}: odd-scores has 13 elements, not B·T for B = 4`));
    expect(() => rankingLossForwardBackward(step, transposed, last, offsets, losses, dscores, 1)).toThrow(new RegExp(`${k}: transposed-scores has shape \\[3,4\\], expected first dimension B = 4`));
    expect(() => rankingLossForwardBackward(step, scores, flast, offsets, losses, dscores, 1)).toThrow(new RegExp(`${k}: f32-last must be u32`));
    expect(() => rankingLossForwardBackward(step, scores, last, one, losses, dscores, 1)).toThrow(new RegExp(`${k}: one-offset \\(offsets\\) has 1 elements, need G\\+1 ≥ 2`));
    expect(() => rankingLossForwardBackward(step, scores, last, offsets, dscores, dscores, 1)).toThrow(new RegExp(`${k}: dscores \\(losses \\(G\\)\\) has 12 elements, expected 2`));
    expect(() => rankingLossForwardBackward(step, scores, last, offsets, losses, losses, 1)).toThrow(new RegExp(`${k}: losses \\(dscores \\(B·T\\)\\) has 2 elements, expected 12`));
    expect(() => rankingLossForwardBackward(step, scores, last, offsets, losses, dscores, NaN)).toThrow(/gradScale must be finite/);
    expect(step.dispatchCount).toBe(0);
    rt.free(scores, odd, transposed, last, flast, offsets, one, losses, dscores);
  });
});

describe('validateRankingGroups', () => {
  test('accepts groups of K ≥ 2 covering 0..B with last positions inside 0..T−1', () => {
    expect(() => validateRankingGroups([0, 2, 5, 9], [0, 1, 2, 0, 0, 0, 0, 0, 2], 9, 3)).not.toThrow();
  });
  test('rejects each malformed layout with a message naming the problem', () => {
    const k = 'ranking_loss_forward_backward';
    const last = [0, 0, 0, 0];
    expect(() => validateRankingGroups([1, 4], last, 4, 1)).toThrow(new RegExp(`${k}: offsets\\[0\\] = 1, expected 0`));
    expect(() => validateRankingGroups([0, 3], last, 4, 1)).toThrow(new RegExp(`${k}: offsets\\[1\\] = 3, expected B = 4`));
    expect(() => validateRankingGroups([0, 1, 4], last, 4, 1)).toThrow(new RegExp(`${k}: group 0 \\(rows 0..0\\) has K = 1 sequences, need K ≥ 2`));
    expect(() => validateRankingGroups([0, 3, 2, 4], last, 4, 1)).toThrow(/group 1 \(rows 3..1\) has K = -1/);
    expect(() => validateRankingGroups([0], last, 4, 1)).toThrow(/offsets has 1 entries, need G\+1 ≥ 2/);
    expect(() => validateRankingGroups([0, 4], [0, 0, 0], 4, 1)).toThrow(/last has 3 entries, expected B = 4/);
    expect(() => validateRankingGroups([0, 4], [0, 0, 2, 0], 4, 2)).toThrow(/last\[2\] = 2 is not a position 0..1/);
    expect(() => validateRankingGroups([0, 4], last, 4, 0)).toThrow(/T = 0, need an integer ≥ 1/);
  });
});
