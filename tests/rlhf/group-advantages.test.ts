// groupAdvantages, fracRewardZeroStd and rlooAdvantages against hand-computed values, then properties over seeded
// fast-check batches: advantages sum to 0 within each group, 'group' is invariant to an affine change of the rewards,
// the batch std equals the pairwise form of the unbiased variance, RLOO is k/(k − 1) times the centred reward.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { type AdvantageScale, fracRewardZeroStd, groupAdvantages, rlooAdvantages } from '../../src/rlhf/group-advantages';
import { expectClose } from '../helpers/tolerance';

// Float64 on both sides, O(1)–O(10) values computed in another order or form: a few ulps.
const EXACT = { atol: 1e-12, rtol: 1e-10 };

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, x) => s + x, 0);

/** Groups of `size` (2…8) integer rewards in [−5, 5] (verifiable rewards are small integers), several groups. */
const batchArb = fc.integer({ min: 2, max: 8 }).chain((size) =>
  fc.record({
    size: fc.constant(size),
    rewards: fc.array(fc.integer({ min: -5, max: 5 }), { minLength: size, maxLength: 6 * size }).map((r) => r.slice(0, r.length - (r.length % size))),
  }),
);

describe('groupAdvantages', () => {
  // Groups of 3: [1, 2, 3] (mean 2, unbiased std 1), [0, 0, 6] (mean 2, std √12), [5, 5, 5] (all equal).
  const rewards = [1, 2, 3, 0, 0, 6, 5, 5, 5];
  const centred = [-1, 0, 1, -2, -2, 4, 0, 0, 0];

  test('by hand: group, batch and no scaling; TRL’s ε = 1e-4 by default', () => {
    const s12 = Math.sqrt(12) + 1e-4;
    expectClose(groupAdvantages(rewards, 3, 'group'), [-1 / 1.0001, 0, 1 / 1.0001, -2 / s12, -2 / s12, 4 / s12, 0, 0, 0], EXACT, 'group');
    // Batch: mean 3, Σ(r − 3)² = 4 + 1 + 0 + 9 + 9 + 9 + 4 + 4 + 4 = 44, unbiased variance 44/8 = 5.5.
    expectClose(groupAdvantages(rewards, 3, 'batch'), centred.map((c) => c / (Math.sqrt(5.5) + 1e-4)), EXACT, 'batch');
    expect(Array.from(groupAdvantages(rewards, 3, 'none'))).toEqual(centred);
    expectClose(groupAdvantages(rewards, 3, 'group', 0.5), [-1 / 1.5, 0, 1 / 1.5, -2 / (Math.sqrt(12) + 0.5), -2 / (Math.sqrt(12) + 0.5), 4 / (Math.sqrt(12) + 0.5), 0, 0, 0], EXACT, 'ε = 0.5');
  });

  test('a group of equal rewards gets exactly 0, even where its float mean is not the reward (0.1·3/3)', () => {
    for (const scale of ['group', 'batch', 'none'] as const) {
      expect(Array.from(groupAdvantages([0.1, 0.1, 0.1, 0, 1, 0], 3, scale).subarray(0, 3)), scale).toEqual([0, 0, 0]);
    }
  });

  test('property: advantages sum to 0 within each group, for every scale', () => {
    fc.assert(
      fc.property(batchArb, fc.constantFrom<AdvantageScale>('group', 'batch', 'none'), ({ size, rewards }, scale) => {
        const a = groupAdvantages(rewards, size, scale);
        for (let g = 0; g < rewards.length / size; g++) expect(Math.abs(sum(a.subarray(g * size, (g + 1) * size)))).toBeLessThan(1e-12);
      }),
      { seed: 1, numRuns: 300 },
    );
  });

  test('property: group scaling is invariant to rewards → c·rewards + b (c > 0), up to ε’s share', () => {
    fc.assert(
      fc.property(batchArb, fc.constantFrom(0.5, 2, 3, 10), fc.integer({ min: -100, max: 100 }), ({ size, rewards }, c, b) => {
        // ε = 1e-10: (r − m)/(s + ε) and c(r − m)/(cs + ε) differ by ~ε/s ≤ 1e-10 relative (s ≥ 0.35 for distinct
        // integers), and c·r + b is exact.
        const a = groupAdvantages(rewards, size, 'group', 1e-10);
        const affine = groupAdvantages(rewards.map((r) => c * r + b), size, 'group', 1e-10);
        expectClose(affine, a, { atol: 1e-12, rtol: 1e-8 }, 'affine rewards');
      }),
      { seed: 2, numRuns: 300 },
    );
  });

  test('property: the three scales against independent formulas (pairwise unbiased variance)', () => {
    /** Unbiased variance as Σ_{i<j} (x_i − x_j)² / (n(n − 1)): no mean involved. */
    const pairwiseVar = (x: number[]) => {
      let s = 0;
      for (let i = 0; i < x.length; i++) for (let j = i + 1; j < x.length; j++) s += (x[i] - x[j]) ** 2;
      return s / (x.length * (x.length - 1));
    };
    fc.assert(
      fc.property(batchArb, ({ size, rewards }) => {
        const none = groupAdvantages(rewards, size, 'none');
        const group = groupAdvantages(rewards, size, 'group');
        const batchStd = Math.sqrt(pairwiseVar(rewards));
        expectClose(groupAdvantages(rewards, size, 'batch'), Array.from(none, (v) => v / (batchStd + 1e-4)), EXACT, 'batch');
        for (let g = 0; g < rewards.length / size; g++) {
          const r = rewards.slice(g * size, (g + 1) * size);
          const mean = sum(r) / size;
          expectClose(none.subarray(g * size, (g + 1) * size), r.map((x) => x - mean), EXACT, 'none');
          const std = Math.sqrt(pairwiseVar(r));
          expectClose(group.subarray(g * size, (g + 1) * size), r.map((x) => (x - mean) / (std + 1e-4)), EXACT, 'group');
        }
      }),
      { seed: 3, numRuns: 300 },
    );
  });

  test('bad arguments are named', () => {
    expect(() => groupAdvantages([1, 2, 3], 1, 'group')).toThrow(/groupAdvantages: groupSize must be an integer ≥ 2, got 1/);
    expect(() => groupAdvantages([1, 2, 3], 2, 'group')).toThrow(/rewards has length 3, not a positive multiple of groupSize = 2/);
    expect(() => groupAdvantages([], 2, 'group')).toThrow(/rewards has length 0/);
    expect(() => groupAdvantages([1, 2], 2, 'std' as AdvantageScale)).toThrow(/scale must be one of group, batch, none, got std/);
    expect(() => groupAdvantages([1, 2], 2, 'group', 0)).toThrow(/eps must be > 0, got 0/);
    expect(() => groupAdvantages([1, 2], 2, 'group', NaN)).toThrow(/eps must be a finite number, got NaN/);
  });
});

describe('fracRewardZeroStd', () => {
  test('by hand, and as the share of groups with a single distinct reward', () => {
    expect(fracRewardZeroStd([1, 2, 3, 0, 0, 6, 5, 5, 5], 3)).toBe(1 / 3);
    expect(fracRewardZeroStd([1, 1, 0, 0], 2)).toBe(1);
    expect(fracRewardZeroStd([1, 0], 2)).toBe(0);
    fc.assert(
      fc.property(batchArb, ({ size, rewards }) => {
        const groups = rewards.length / size;
        const single = Array.from({ length: groups }, (_, g) => new Set(rewards.slice(g * size, (g + 1) * size)).size === 1);
        expect(fracRewardZeroStd(rewards, size)).toBe(single.filter(Boolean).length / groups);
      }),
      { seed: 4, numRuns: 300 },
    );
    expect(() => fracRewardZeroStd([1, 2, 3], 2)).toThrow(/fracRewardZeroStd: rewards has length 3/);
  });
});

describe('rlooAdvantages', () => {
  test('by hand: each reward minus the mean of the other k − 1', () => {
    // [1, 2, 3, 6]: 1 − 11/3, 2 − 10/3, 3 − 9/3, 6 − 6/3; [4, 0]: 4 − 0, 0 − 4.
    expectClose(rlooAdvantages([1, 2, 3, 6], 4), [-8 / 3, -4 / 3, 0, 4], EXACT, 'k = 4');
    expect(Array.from(rlooAdvantages([4, 0, 1, 1], 2))).toEqual([4, -4, 0, 0]);
  });

  test('property: k/(k − 1) times the centred reward, summing to 0 within each group', () => {
    fc.assert(
      fc.property(batchArb, ({ size, rewards }) => {
        const a = rlooAdvantages(rewards, size);
        const none = groupAdvantages(rewards, size, 'none');
        expectClose(a, Array.from(none, (v) => (size / (size - 1)) * v), EXACT, 'RLOO = k/(k−1)·(r − mean)');
        for (let g = 0; g < rewards.length / size; g++) expect(Math.abs(sum(a.subarray(g * size, (g + 1) * size)))).toBeLessThan(1e-12);
      }),
      { seed: 5, numRuns: 300 },
    );
  });

  test('bad arguments are named', () => {
    expect(() => rlooAdvantages([1, 2], 1)).toThrow(/rlooAdvantages: k must be an integer ≥ 2, got 1/);
    expect(() => rlooAdvantages([1, 2, 3], 2)).toThrow(/rlooAdvantages: rewards has length 3, not a positive multiple of k = 2/);
  });
});
