import { describe, expect, test } from 'vitest';
import { mixSeed, seededRandom } from '../../src/model/data';
import { calibrateNoise, expectedAgreement, goldOrderOf, interLabelerAgreement, pairwiseAgreement, rankByLabeler, SimulatedLabeler } from '../../src/rlhf/labelers';
import { createTask } from '../../src/rlhf/tasks/index';

/** Per-prompt gold scores for K = 4…9 samples, like a policy's samples: a prompt-level offset plus sample spread. */
function goldSamples(n: number, seed: number): number[][] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const K = 4 + Math.floor(r() * 6);
    const base = 2 * r() - 1;
    return Array.from({ length: K }, () => base + 0.6 * (r() - 0.5));
  });
}

describe('rankByLabeler', () => {
  test('τ = 0 reproduces the gold order; ties keep index order; exactly K draws', () => {
    let draws = 0;
    const counting = () => (draws++, 0.5);
    expect(rankByLabeler([0.1, 0.9, -0.5, 0.3], 0, counting)).toEqual([1, 3, 0, 2]);
    expect(draws).toBe(4);
    expect(rankByLabeler([1, 2, 2, 0, 2], 0, seededRandom(1))).toEqual([1, 2, 4, 0, 3]);
    expect(goldOrderOf([1, 2, 2, 0, 2])).toEqual([1, 2, 4, 0, 3]);
  });

  test('deterministic for a seed; ties broken by the noise for τ > 0', () => {
    const golds = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5];
    const a = rankByLabeler(golds, 0.3, seededRandom(3));
    expect(rankByLabeler(golds, 0.3, seededRandom(3))).toEqual(a);
    const orders = new Set(Array.from({ length: 20 }, (_, s) => rankByLabeler(golds, 0.3, seededRandom(s)).join()));
    expect(orders.size).toBeGreaterThan(10);
  });

  test('is Plackett–Luce: P(first = i) ∝ exp(gold_i / τ)', () => {
    const golds = [0.4, 0, -0.3];
    const tau = 0.5;
    const r = seededRandom(11);
    const N = 30_000;
    const first = [0, 0, 0];
    let secondGivenFirst0 = 0;
    for (let s = 0; s < N; s++) {
      const o = rankByLabeler(golds, tau, r);
      first[o[0]]++;
      if (o[0] === 0 && o[1] === 1) secondGivenFirst0++;
    }
    const w = golds.map((g) => Math.exp(g / tau));
    const Z = w.reduce((a, b) => a + b);
    // 3σ of a binomial proportion at N = 30000 is ≤ 0.0087.
    first.forEach((c, i) => expect(Math.abs(c / N - w[i] / Z)).toBeLessThan(0.009));
    expect(Math.abs(secondGivenFirst0 / first[0] - w[1] / (w[1] + w[2]))).toBeLessThan(0.02);
  });

  test('validates its inputs', () => {
    expect(() => rankByLabeler([1], 0.1, Math.random)).toThrow(/at least 2/);
    expect(() => rankByLabeler([1, NaN], 0.1, Math.random)).toThrow(/finite/);
    expect(() => rankByLabeler([1, 2], -1, Math.random)).toThrow(/noise/);
  });
});

describe('calibrateNoise', () => {
  test('the calibrated labeler agrees with gold on 73% ± 3% of pairs of a fresh seeded sample', () => {
    const tau = calibrateNoise(goldSamples(300, 1), 0.73, 2);
    expect(tau).toBeGreaterThan(0);
    const fresh = goldSamples(300, 99);
    const r = seededRandom(5);
    let same = 0;
    let pairs = 0;
    for (const golds of fresh) {
      const P = (golds.length * (golds.length - 1)) / 2;
      same += pairwiseAgreement(rankByLabeler(golds, tau, r), goldOrderOf(golds)) * P;
      pairs += P;
    }
    expect(Math.abs(same / pairs - 0.73)).toBeLessThan(0.03);
    // agreement falls from ≈ 1 (τ → 0) to ≈ 0.5 (τ → ∞)
    expect(expectedAgreement(fresh, tau * 1e-4, 3)).toBeGreaterThan(0.99);
    expect(Math.abs(expectedAgreement(fresh, tau * 1e4, 3) - 0.5)).toBeLessThan(0.03);
  });

  test('other targets and the sentiment task gold', () => {
    const task = createTask('sentiment', { seed: 4 });
    const golds = task.demonstrations.map((d) => task.gold!(d.prompt, d.completion));
    const samples: number[][] = [];
    for (let i = 0; i + 6 <= 300; i += 6) samples.push(golds.slice(i, i + 6));
    const t80 = calibrateNoise(samples, 0.8, 1);
    const t65 = calibrateNoise(samples, 0.65, 1);
    expect(t65).toBeGreaterThan(t80);
    expect(Math.abs(expectedAgreement(samples, t80, 1) - 0.8)).toBeLessThan(0.01);
  });

  test('agreement 1 is noiseless labelers (noise 0: the gold order, labels.agreement = 1)', () => {
    const samples = goldSamples(50, 4);
    expect(calibrateNoise(samples, 1, 1)).toBe(0);
    expect(expectedAgreement(samples, 0, 1)).toBe(1);
  });

  test('rejects unreachable targets', () => {
    expect(() => calibrateNoise(goldSamples(5, 1), 0.5)).toThrow(/targetAgreement/);
    expect(() => calibrateNoise(goldSamples(5, 1), 1.01)).toThrow(/targetAgreement must be in \(0\.5, 1\]/);
    expect(() => calibrateNoise([[1, 1, 1, 1]], 0.73)).toThrow(/tied/);
    expect(() => calibrateNoise([], 0.73)).toThrow(/no gold samples/);
  });
});

describe('SimulatedLabeler', () => {
  const task = createTask('sentiment', { seed: 1 });
  const completions = ['The lid is awful.', 'I love it. It works well.', 'I got it last week.', 'The lid is great.', 'great great great great'];

  test('noise 0 ranks in gold order; goldOrder indexes the ranked completions', () => {
    const r = new SimulatedLabeler(task, { noise: 0, seed: 1 }).rank('Review of the kettle:', completions);
    expect(r.source).toBe('simulated');
    expect(r.prompt).toBe('Review of the kettle:');
    expect(r.completions).toEqual(['I love it. It works well.', 'The lid is great.', 'I got it last week.', 'great great great great', 'The lid is awful.']);
    expect(r.goldOrder).toEqual([0, 1, 2, 3, 4]);
  });

  test('noisy rankings are deterministic per seed and record the gold order', () => {
    const a = new SimulatedLabeler(task, { noise: 0.5, seed: 3 });
    const b = new SimulatedLabeler(task, { noise: 0.5, seed: 3 });
    for (let i = 0; i < 5; i++) {
      const ra = a.rank('p', completions);
      expect(b.rank('p', completions)).toEqual(ra);
      const golds = ra.completions.map((c) => task.gold!('p', c));
      expect(ra.goldOrder).toEqual(goldOrderOf(golds));
    }
  });

  test('validates K = 4…9, distinct completions, and a task with gold', () => {
    const l = new SimulatedLabeler(task, { noise: 0.1, seed: mixSeed(1, 2) });
    expect(() => l.rank('p', completions.slice(0, 3))).toThrow(/K = 4…9/);
    expect(() => l.rank('p', Array.from({ length: 10 }, (_, i) => `text ${i}`))).toThrow(/K = 4…9/);
    expect(() => l.rank('p', ['a', 'b', 'c', 'a'])).toThrow(/distinct/);
    expect(l.rank('p', Array.from({ length: 9 }, (_, i) => `text ${i}`)).completions).toHaveLength(9);
    expect(() => new SimulatedLabeler({ id: 'custom' }, { noise: 0.1, seed: 1 })).toThrow(/no gold/);
    expect(() => new SimulatedLabeler(task, { noise: -1, seed: 1 })).toThrow(/noise/);
  });
});

describe('interLabelerAgreement', () => {
  // A toy task whose gold reward is a table: prompt p, completion "c<i>" → the i-th score of goldSamples' p-th row.
  const table = goldSamples(400, 7);
  const task = { id: 'toy', gold: (prompt: string, c: string) => table[Number(prompt)][Number(c.slice(1))] };
  const rankingsAt = (noise: number) => {
    const first = new SimulatedLabeler(task, { noise, seed: 11 });
    return table.map((row, p) => first.rank(String(p), row.map((_, i) => `c${i}`)));
  };

  test('noise 0: two labelers always agree; huge noise: half the pairs', () => {
    expect(interLabelerAgreement(task, rankingsAt(0), 0, 12)).toBe(1);
    expect(Math.abs(interLabelerAgreement(task, rankingsAt(1e6), 1e6, 12) - 0.5)).toBeLessThan(0.03);
  });

  test('matches p² + (1 − p)² per pair, p = σ(Δgold / τ) (the Gumbel-max pair marginal), at 73% gold agreement', () => {
    const tau = calibrateNoise(table, 0.73, 2);
    let expected = 0;
    let pairs = 0;
    for (const row of table) {
      for (let i = 0; i < row.length; i++) {
        for (let j = i + 1; j < row.length; j++) {
          const p = 1 / (1 + Math.exp(-(row[i] - row[j]) / tau));
          expected += p * p + (1 - p) * (1 - p);
          pairs++;
        }
      }
    }
    expected /= pairs;
    const measured = interLabelerAgreement(task, rankingsAt(tau), tau, 12);
    // ~6,000 pairs: the sampling standard deviation is under 0.01.
    expect(Math.abs(measured - expected)).toBeLessThan(0.02);
    // Two labelers at 73% with gold agree with each other less often than either does with gold.
    expect(measured).toBeLessThan(0.73);
    expect(measured).toBeGreaterThan(0.55);
    expect(interLabelerAgreement(task, rankingsAt(tau), tau, 12)).toBe(measured);
  });

  test('needs rankings and a task with gold', () => {
    expect(() => interLabelerAgreement(task, [], 0.1, 1)).toThrow(/no rankings/);
    expect(() => interLabelerAgreement({ id: 'custom' }, rankingsAt(0).slice(0, 1), 0.1, 1)).toThrow(/no gold/);
  });
});
