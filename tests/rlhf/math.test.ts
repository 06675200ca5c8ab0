// Unit tests for src/rlhf/math.ts: each function against an independent, deliberately naive reference written here
// (explicit loops, a different formulation where there is one), on seeded ragged batches (rows with 0, 1 and T real
// tokens; padding holds NaN so reading it would show), plus hand-computed cases and properties. The PPO and ranking
// losses are tested in tests/reference (their float64 oracles).
import { describe, expect, test } from 'vitest';
import { seededRandom } from '../../src/model/data';
import {
  AdaptiveKLController,
  FixedKLController,
  bestOfNKLBound,
  emaUpdate,
  explainedVariance,
  gae,
  klPerToken,
  maskedMean,
  maskedStd,
  maskedVar,
  pairwiseAgreement,
  perTokenRewards,
  whiten,
  winRate,
} from '../../src/rlhf/math';
import { expectClose, expectFinite, type Tolerance } from '../helpers/tolerance';

// Both sides are float64 and compute the same quantity in a different order or form; the differences are a few
// ulps of the largest intermediate (values here are O(1)–O(10)), so 1e-12 absolute / 1e-10 relative is far above
// rounding yet far below any real mistake (a wrong sign, index or factor shows up at ≥ 1e-3).
const EXACT: Tolerance = { atol: 1e-12, rtol: 1e-10 };

// ---- seeded ragged batches ----

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

interface Batch {
  B: number;
  T: number;
  lengths: number[];
  mask: Float64Array;
}

/** B rows of T positions; the first rows have 0, 1 and T real tokens, the rest random lengths. */
function raggedBatch(B: number, T: number, seed: number): Batch {
  const random = seededRandom(seed);
  const lengths = Array.from({ length: B }, (_, b) => (b === 0 ? 0 : b === 1 ? 1 : b === 2 ? T : Math.floor(random() * (T + 1))));
  const mask = new Float64Array(B * T);
  lengths.forEach((len, b) => mask.fill(1, b * T, b * T + len));
  return { B, T, lengths, mask };
}

/** Random N(mean, std²) values on real tokens, NaN on padding (so any function that reads padding fails). */
function tokenValues(batch: Batch, seed: number, std = 1, mean = 0): Float64Array {
  const random = seededRandom(seed);
  return Float64Array.from(batch.mask, (m) => (m === 1 ? mean + std * gaussian(random) : NaN));
}

function zeroPaddingOf(batch: Batch, x: ArrayLike<number>, what: string): void {
  for (let i = 0; i < x.length; i++) if (batch.mask[i] === 0) expect(x[i], `${what}[${i}] (padding)`).toBe(0);
}

const realCount = (batch: Batch) => batch.lengths.reduce((a, b) => a + b, 0);

// ---- naive references ----

function naiveMean(x: ArrayLike<number>, mask: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    if (mask[i] === 1) {
      s += x[i];
      n += 1;
    }
  }
  return s / n;
}

/** Variance by the one-pass textbook formula (Σx² − N·mean²), a different formulation from the two-pass code. */
function naiveVar(x: ArrayLike<number>, mask: ArrayLike<number>, unbiased: boolean): number {
  let s = 0;
  let s2 = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    if (mask[i] === 1) {
      s += x[i];
      s2 += x[i] * x[i];
      n += 1;
    }
  }
  return (s2 - (s * s) / n) / (unbiased ? n - 1 : n);
}

// ---- tests ----

describe('klPerToken', () => {
  const n = 200;
  const random = seededRandom(11);
  const logp = Float64Array.from({ length: n }, () => -3 * random());
  const refLogp = Float64Array.from({ length: n }, () => -3 * random());

  test('k1 and k3 match the plain formulas', () => {
    const k1 = new Float64Array(n);
    const k3 = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      k1[i] = logp[i] - refLogp[i];
      const r = Math.exp(refLogp[i] - logp[i]);
      k3[i] = r - 1 - Math.log(r);
    }
    expectClose(klPerToken(logp, refLogp, 'k1'), k1, EXACT, 'k1');
    // The plain (r − 1) − log r cancels catastrophically for r ≈ 1 (ulp(1) ≈ 2e-16 lost, absolute), hence atol 1e-14.
    expectClose(klPerToken(logp, refLogp, 'k3'), k3, { atol: 1e-14, rtol: 1e-10 }, 'k3');
  });

  test('k3 is non-negative, ≈ k1²/2 for tiny differences, finite for large ones', () => {
    const diffs = [0, 1e-300, 1e-17, -1e-17, 1e-12, -1e-12, 1e-8, -1e-8, 1e-3, -1e-3, 5, -5, 50, -50, 300, -300];
    const lp = Float64Array.from(diffs, () => -1);
    const ref = Float64Array.from(diffs, (d) => -1 - d);
    const k3 = klPerToken(lp, ref, 'k3');
    for (let i = 0; i < diffs.length; i++) expect(k3[i], `k3 at logp − refLogp = ${diffs[i]}`).toBeGreaterThanOrEqual(0);
    expectFinite(k3, 'k3');
    const all = klPerToken(logp, refLogp, 'k3');
    for (let i = 0; i < n; i++) expect(all[i]).toBeGreaterThanOrEqual(0);
    // second-order expansion: k3 = d²/2 + O(d³)
    expect(klPerToken([0], [-1e-4], 'k3')[0]).toBeCloseTo(0.5e-8, 12);
    expect(Math.abs(klPerToken([0], [-1e-4], 'k3')[0] - 0.5e-8) / 0.5e-8).toBeLessThan(1e-3);
  });

  test('rejects bad arguments', () => {
    expect(() => klPerToken([0, 1], [0], 'k1')).toThrow(/klPerToken: refLogp has length 1, expected 2/);
    expect(() => klPerToken([0], [0], 'k2' as 'k1')).toThrow(/klPerToken: estimator/);
  });
});

describe('perTokenRewards', () => {
  function naive(kl: Float64Array, batch: Batch, scores: number[], beta: number, eos: boolean[], penalty: number | null) {
    const { B, T, mask } = batch;
    const rewards = new Float64Array(B * T);
    const nonScore = new Float64Array(B * T);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        if (mask[b * T + t] !== 1) continue;
        nonScore[b * T + t] = -beta * kl[b * T + t];
        rewards[b * T + t] = -beta * kl[b * T + t];
        const last = t === T - 1 || mask[b * T + t + 1] === 0;
        if (last) rewards[b * T + t] += eos[b] || penalty === null ? scores[b] : penalty;
      }
    }
    return { rewards, nonScore };
  }

  test('matches the loop reference on a ragged batch, with and without the no-EOS penalty', () => {
    const batch = raggedBatch(9, 7, 21);
    const kl = tokenValues(batch, 22, 0.3);
    const random = seededRandom(23);
    const scores = Array.from({ length: batch.B }, () => 2 * gaussian(random));
    const eos = Array.from({ length: batch.B }, (_, b) => b % 3 !== 1);
    for (const penalty of [-1, null]) {
      const got = perTokenRewards(kl, batch.mask, scores, 0.05, eos, penalty);
      const want = naive(kl, batch, scores, 0.05, eos, penalty);
      expectClose(got.rewards, want.rewards, EXACT, `rewards (penalty ${penalty})`);
      expectClose(got.nonScore, want.nonScore, EXACT, `nonScore (penalty ${penalty})`);
      zeroPaddingOf(batch, got.rewards, 'rewards');
      zeroPaddingOf(batch, got.nonScore, 'nonScore');
    }
  });

  test('hand-computed: score on the last real token, penalty replaces the score without EOS', () => {
    // rows: [a a a], [b b .], [. . .]   (T = 3), β = 0.1
    const mask = [1, 1, 1, 1, 1, 0, 0, 0, 0];
    const kl = [1, 2, 3, 4, -5, NaN, NaN, NaN, NaN];
    const { rewards, nonScore } = perTokenRewards(kl, mask, [10, 20, 30], 0.1, [true, false, true], -1);
    expectClose(nonScore, [-0.1, -0.2, -0.3, -0.4, 0.5, 0, 0, 0, 0], EXACT, 'nonScore');
    expectClose(rewards, [-0.1, -0.2, 9.7, -0.4, -0.5, 0, 0, 0, 0], EXACT, 'rewards');
  });

  test('rejects bad shapes and arguments', () => {
    expect(() => perTokenRewards([0, 0, 0], [1, 1, 1], [1, 2], 0.1, [true, true], -1)).toThrow(/perTokenRewards: kl has length 3/);
    expect(() => perTokenRewards([0, 0], [1, 1], [1], 0.1, [true, true], -1)).toThrow(/perTokenRewards: eosFound has length 2/);
    expect(() => perTokenRewards([0, 0], [0, 1], [1], 0.1, [true], -1)).toThrow(/perTokenRewards: mask row 0 is not a prefix/);
    expect(() => perTokenRewards([0, 0], [1, 0.5], [1], 0.1, [true], -1)).toThrow(/perTokenRewards: mask\[1\] is 0.5/);
    expect(() => perTokenRewards([0, 0], [1, 1], [1], -0.1, [true], -1)).toThrow(/perTokenRewards: beta/);
    expect(() => perTokenRewards([0, 0], [1, 1], [1], 0.1, [true], NaN)).toThrow(/perTokenRewards: noEosPenalty/);
  });
});

describe('gae', () => {
  /** A_t = Σ_{l=0}^{L−1−t} (γλ)^l δ_{t+l} with δ_k = r_k + γ·V_{k+1} − V_k and V_L = 0: the explicit sum. */
  function naive(rewards: Float64Array, values: Float64Array, batch: Batch, gamma: number, lambda: number) {
    const { B, T, lengths } = batch;
    const advantages = new Float64Array(B * T);
    const returns = new Float64Array(B * T);
    for (let b = 0; b < B; b++) {
      const L = lengths[b];
      const V = (k: number) => (k < L ? values[b * T + k] : 0);
      for (let t = 0; t < L; t++) {
        let a = 0;
        for (let l = 0; t + l < L; l++) {
          const k = t + l;
          const delta = rewards[b * T + k] + gamma * V(k + 1) - V(k);
          a += (gamma * lambda) ** l * delta;
        }
        advantages[b * T + t] = a;
        returns[b * T + t] = a + V(t);
      }
    }
    return { advantages, returns };
  }

  test('matches the explicit discounted sum on ragged batches', () => {
    const batch = raggedBatch(10, 13, 31);
    const rewards = tokenValues(batch, 32, 0.5);
    const values = tokenValues(batch, 33, 1);
    for (const [gamma, lambda] of [[1, 0.95], [0.9, 0.8], [1, 1], [0.99, 0], [0, 0.5]]) {
      const got = gae(rewards, values, batch.mask, gamma, lambda, batch.T);
      const want = naive(rewards, values, batch, gamma, lambda);
      expectClose(got.advantages, want.advantages, EXACT, `advantages γ=${gamma} λ=${lambda}`);
      expectClose(got.returns, want.returns, EXACT, `returns γ=${gamma} λ=${lambda}`);
      zeroPaddingOf(batch, got.advantages, 'advantages');
      zeroPaddingOf(batch, got.returns, 'returns');
    }
  });

  test('hand-computed: γ = 1, λ = 0.95, reward only at the end', () => {
    // δ = [0 + 0.5 − 0.5, 0 + 0.5 − 0.5, 1 + 0 − 0.5] = [0, 0, 0.5]; A_2 = 0.5, A_1 = 0.475, A_0 = 0.45125
    const { advantages, returns } = gae([0, 0, 1, NaN], [0.5, 0.5, 0.5, NaN], [1, 1, 1, 0], 1, 0.95, 4);
    expectClose(advantages, [0.45125, 0.475, 0.5, 0], EXACT, 'advantages');
    expectClose(returns, [0.95125, 0.975, 1, 0], EXACT, 'returns');
  });

  test('γ = λ = 1: returns are the undiscounted reward-to-go, whatever the values', () => {
    const batch = raggedBatch(5, 6, 41);
    const rewards = tokenValues(batch, 42);
    const { returns } = gae(rewards, tokenValues(batch, 43), batch.mask, 1, 1, batch.T);
    const toGo = new Float64Array(batch.B * batch.T);
    for (let b = 0; b < batch.B; b++) {
      for (let t = 0; t < batch.lengths[b]; t++) for (let k = t; k < batch.lengths[b]; k++) toGo[b * batch.T + t] += rewards[b * batch.T + k];
    }
    expectClose(returns, toGo, EXACT, 'returns');
  });

  test('rejects bad shapes and arguments', () => {
    expect(() => gae([0, 0, 0], [0, 0, 0], [1, 1, 1], 1, 0.95, 2)).toThrow(/gae: rewards has length 3, not a multiple of T = 2/);
    expect(() => gae([0, 0], [0], [1, 1], 1, 0.95, 2)).toThrow(/gae: values has length 1/);
    expect(() => gae([0, 0], [0, 0], [1, 1], 1.5, 0.95, 2)).toThrow(/gae: gamma must be in \[0, 1\]/);
    expect(() => gae([0, 0], [0, 0], [1, 1], 1, NaN, 2)).toThrow(/gae: lambda/);
    expect(() => gae([0, 0], [0, 0], [0, 1], 1, 0.95, 2)).toThrow(/gae: mask row 0 is not a prefix/);
    expect(() => gae([0, 0], [0, 0], [1, 1], 1, 0.95, 0)).toThrow(/gae: T must be a positive integer/);
  });
});

describe('maskedMean / maskedVar / whiten', () => {
  const batch = raggedBatch(8, 9, 51);
  const x = tokenValues(batch, 52, 3, 2);

  test('maskedMean and maskedVar match the one-pass loop formulas', () => {
    expect(maskedMean(x, batch.mask)).toBeCloseTo(naiveMean(x, batch.mask), 12);
    expect(maskedVar(x, batch.mask, true)).toBeCloseTo(naiveVar(x, batch.mask, true), 10);
    expect(maskedVar(x, batch.mask, false)).toBeCloseTo(naiveVar(x, batch.mask, false), 10);
    const N = realCount(batch);
    expect(maskedVar(x, batch.mask, true) / maskedVar(x, batch.mask, false)).toBeCloseTo(N / (N - 1), 12);
    expect(maskedVar(x, batch.mask)).toBe(maskedVar(x, batch.mask, true)); // TRL's default: unbiased
  });

  test('maskedStd: by hand, padding ignored; the square root of maskedVar', () => {
    // Real tokens 1, 3, 5 (mean 3): squared deviations 4 + 0 + 4 = 8; unbiased 8/2 = 4 → 2, biased 8/3 → √(8/3).
    expect(maskedStd([1, 3, NaN, 5, NaN, NaN], [1, 1, 0, 1, 0, 0])).toBe(2);
    expect(maskedStd([1, 3, 5, NaN], [1, 1, 1, 0], false)).toBeCloseTo(Math.sqrt(8 / 3), 14);
    expect(maskedStd(x, batch.mask)).toBeCloseTo(Math.sqrt(naiveVar(x, batch.mask, true)), 10);
    // Whitened advantages have std 1 by construction: why PPO logs the raw ones' spread.
    expect(maskedStd(whiten(x, batch.mask), batch.mask)).toBeCloseTo(1, 8);
    expect(() => maskedStd([1, 2], [1, 0])).toThrow(/maskedVar: mask has 1 real tokens, needs at least 2/);
  });

  test('whiten matches (x − mean)/sqrt(unbiased var + 1e-8) and zeroes padding', () => {
    const mean = naiveMean(x, batch.mask);
    const std = Math.sqrt(naiveVar(x, batch.mask, true) + 1e-8);
    const want = Float64Array.from(x, (v, i) => (batch.mask[i] === 1 ? (v - mean) / std : 0));
    expectClose(whiten(x, batch.mask), want, EXACT, 'whiten');
    const wantNoShift = Float64Array.from(x, (v, i) => (batch.mask[i] === 1 ? (v - mean) / std + mean : 0));
    expectClose(whiten(x, batch.mask, false), wantNoShift, EXACT, 'whiten(shiftMean=false)');
  });

  test('whitened real tokens have mean 0 and unbiased variance 1; shiftMean=false keeps the mean', () => {
    const w = whiten(x, batch.mask);
    expect(Math.abs(maskedMean(w, batch.mask))).toBeLessThan(1e-12);
    // var/(var + 1e-8) with var ≈ 9: 1 − 1e-9
    expect(maskedVar(w, batch.mask, true)).toBeCloseTo(1, 8);
    const ws = whiten(x, batch.mask, false);
    expect(maskedMean(ws, batch.mask)).toBeCloseTo(maskedMean(x, batch.mask), 12);
    expect(maskedVar(ws, batch.mask, true)).toBeCloseTo(1, 8);
  });

  test('rejects masks without enough tokens and bad mask values', () => {
    expect(() => maskedMean([1, 2], [0, 0])).toThrow(/maskedMean: mask has 0 real tokens/);
    expect(() => maskedVar([1, 2], [1, 0], true)).toThrow(/maskedVar: mask has 1 real tokens, needs at least 2/);
    expect(maskedVar([1, 2], [1, 0], false)).toBe(0);
    expect(() => whiten([1, 2], [1, 0])).toThrow(/whiten: mask has 1 real tokens/);
    expect(() => whiten([1, 2], [1, 2])).toThrow(/whiten: mask\[1\] is 2/);
    expect(() => maskedMean([1, 2], [1])).toThrow(/maskedMean: mask has length 1, expected 2/);
  });
});

describe('KL controllers', () => {
  test('adaptive: KL = 2·target for 5 updates of 256 episodes → β·(1 + 0.2·256/10000)^5', () => {
    const ctl = new AdaptiveKLController(0.1, 6, 10000);
    for (let i = 0; i < 5; i++) ctl.update(12, 256);
    // 1.00512^5 = 1.0258634896…, worked out by hand (1.00512² = 1.0102662144, squared, times 1.00512)
    expect(ctl.value).toBeCloseTo(0.10258634896167725, 15);
  });

  test('adaptive: error is clipped to ±0.2, KL = target leaves β unchanged, small errors are proportional', () => {
    const up = new AdaptiveKLController(0.05, 1, 100);
    up.update(1000, 10); // e = 999 → 0.2
    expect(up.value).toBeCloseTo(0.05 * 1.02, 15);
    const down = new AdaptiveKLController(0.05, 1, 100);
    down.update(0, 10); // e = −1 → −0.2
    expect(down.value).toBeCloseTo(0.05 * 0.98, 15);
    const same = new AdaptiveKLController(0.05, 3, 100);
    same.update(3, 50);
    expect(same.value).toBe(0.05);
    const small = new AdaptiveKLController(0.05, 2, 100);
    small.update(2.2, 10); // e = 0.1
    expect(small.value).toBeCloseTo(0.05 * 1.01, 15);
  });

  test('fixed: never changes; both satisfy KLController', () => {
    const fixed = new FixedKLController(0.02);
    fixed.update(1000, 512);
    expect(fixed.value).toBe(0.02);
  });

  test('reject bad arguments', () => {
    expect(() => new AdaptiveKLController(0.1, 0, 100)).toThrow(/AdaptiveKLController: target must be > 0/);
    expect(() => new AdaptiveKLController(0.1, 6, NaN)).toThrow(/AdaptiveKLController: horizon/);
    expect(() => new AdaptiveKLController(0.1, 6, 100).update(NaN, 1)).toThrow(/AdaptiveKLController.update: currentKL/);
    expect(() => new FixedKLController(-1)).toThrow(/FixedKLController: beta/);
  });
});

describe('bestOfNKLBound', () => {
  test('0 at n = 1, log 2 − ½ at n = 2, strictly increasing', () => {
    expect(bestOfNKLBound(1)).toBe(0);
    expect(bestOfNKLBound(2)).toBeCloseTo(Math.LN2 - 0.5, 15);
    expect(bestOfNKLBound(64)).toBeCloseTo(Math.log(64) - 63 / 64, 15);
    for (let n = 2; n <= 1024; n++) expect(bestOfNKLBound(n)).toBeGreaterThan(bestOfNKLBound(n - 1));
  });

  test('rejects non-integers and n < 1', () => {
    expect(() => bestOfNKLBound(0)).toThrow(/bestOfNKLBound: n must be a positive integer/);
    expect(() => bestOfNKLBound(2.5)).toThrow(/bestOfNKLBound/);
  });
});

describe('winRate', () => {
  const Z = 1.959963984540054;

  /** The Wilson interval as the two roots of (p̂ − p)² = z²·p(1 − p)/n, solved as a quadratic in p. */
  function naive(a: number[], b: number[]) {
    let score = 0;
    let ties = 0;
    for (let i = 0; i < a.length; i++) {
      if (a[i] > b[i]) score += 1;
      if (a[i] === b[i]) {
        score += 0.5;
        ties += 1;
      }
    }
    const n = a.length;
    const p = score / n;
    const qa = 1 + (Z * Z) / n;
    const qb = -(2 * p + (Z * Z) / n);
    const qc = p * p;
    const disc = Math.sqrt(qb * qb - 4 * qa * qc);
    return { winRate: p, ties, lo: (-qb - disc) / (2 * qa), hi: (-qb + disc) / (2 * qa) };
  }

  test('matches the quadratic-root form of the Wilson interval on seeded scores with ties', () => {
    const random = seededRandom(131);
    for (const n of [1, 2, 7, 50, 333]) {
      // scores on a coarse grid so ties happen
      const a = Array.from({ length: n }, () => Math.floor(random() * 4));
      const b = Array.from({ length: n }, () => Math.floor(random() * 4));
      const got = winRate(a, b);
      const want = naive(a, b);
      expect(got.n).toBe(n);
      expect(got.winRate).toBe(want.winRate);
      expect(got.ties).toBe(want.ties);
      expect(got.ci[0], `lo n=${n}`).toBeCloseTo(want.lo, 12);
      expect(got.ci[1], `hi n=${n}`).toBeCloseTo(want.hi, 12);
    }
  });

  test('CI contains the estimate, stays in [0, 1] and narrows with n', () => {
    let lastWidth = Infinity;
    for (const n of [4, 20, 100, 500, 2500]) {
      // 70% wins, 10% ties, 20% losses
      const a = Array.from({ length: n }, (_, i) => (i % 10 < 7 ? 1 : i % 10 < 8 ? 0 : -1));
      const b = new Array<number>(n).fill(0);
      const { winRate: p, ci } = winRate(a, b);
      expect(p).toBeGreaterThanOrEqual(ci[0]);
      expect(p).toBeLessThanOrEqual(ci[1]);
      expect(ci[0]).toBeGreaterThanOrEqual(0);
      expect(ci[1]).toBeLessThanOrEqual(1);
      const width = ci[1] - ci[0];
      expect(width, `width at n=${n}`).toBeLessThan(lastWidth);
      lastWidth = width;
    }
    expect(winRate([1, 1, 1, 1, 1], [0, 0, 0, 0, 0]).ci[1]).toBe(1);
    expect(winRate([0, 0], [1, 1]).ci[0]).toBe(0);
  });

  test('hand-computed: all wins, all ties', () => {
    const allWins = winRate([2, 3, 4, 5], [1, 1, 1, 1]);
    expect(allWins.winRate).toBe(1);
    expect(allWins.ci[0]).toBeCloseTo(1 / (1 + (Z * Z) / 4), 12); // Wilson lower bound at p̂ = 1
    const allTies = winRate([1, 2, 3], [1, 2, 3]);
    expect(allTies.winRate).toBe(0.5);
    expect(allTies.ties).toBe(3);
  });

  test('rejects empty and mismatched inputs', () => {
    expect(() => winRate([], [])).toThrow(/winRate: goldA is empty/);
    expect(() => winRate([1, 2], [1])).toThrow(/winRate: goldB has length 1/);
    expect(() => winRate([NaN], [1])).toThrow(/winRate: gold score of prompt 0 is NaN/);
  });
});

describe('explainedVariance', () => {
  const batch = raggedBatch(8, 10, 141);
  const returns = tokenValues(batch, 142, 2);

  test('matches 1 − Var(R − V)/Var(R) by the one-pass loop formula', () => {
    const values = Float64Array.from(returns, (r, i) => (batch.mask[i] === 1 ? 0.7 * r + 0.3 * Math.sin(i) : NaN));
    const residual = Float64Array.from(returns, (r, i) => r - values[i]);
    const want = 1 - naiveVar(residual, batch.mask, false) / naiveVar(returns, batch.mask, false);
    expect(explainedVariance(values, returns, batch.mask)).toBeCloseTo(want, 10);
  });

  test('perfect values → 1, a constant prediction → 0, constant returns → NaN', () => {
    expect(explainedVariance(returns, returns, batch.mask)).toBe(1);
    const constant = Float64Array.from(returns, () => 0.3);
    expect(explainedVariance(constant, returns, batch.mask)).toBeCloseTo(0, 12);
    expect(explainedVariance([1, 2], [3, 3], [1, 1])).toBeNaN();
  });

  test('rejects bad shapes', () => {
    expect(() => explainedVariance([1, 2], [1], [1, 1])).toThrow(/explainedVariance: returns has length 1/);
  });
});

describe('emaUpdate', () => {
  test('matches the loop reference (rounded to float32) over several steps', () => {
    const random = seededRandom(151);
    const ema = Float32Array.from({ length: 64 }, () => random());
    const expected = Float64Array.from(ema);
    for (let step = 0; step < 5; step++) {
      const x = Float32Array.from({ length: 64 }, () => 2 * random() - 1);
      emaUpdate(ema, x, 0.992);
      for (let i = 0; i < 64; i++) expected[i] = Math.fround(0.992 * expected[i] + 0.008 * x[i]);
    }
    // ema is float32: one rounding per step, as in the reference — so they agree to float32 precision
    expectClose(ema, expected, { atol: 1e-7, rtol: 1e-6 }, 'ema');
  });

  test('hand-computed and edge decays', () => {
    const ema = new Float32Array([0, 1]);
    emaUpdate(ema, [1, 1], 0.992);
    expect(ema[0]).toBe(Math.fround(0.008));
    expect(ema[1]).toBe(1);
    emaUpdate(ema, [5, 5], 1);
    expect(ema[1]).toBe(1);
    emaUpdate(ema, [5, 5], 0);
    expect([...ema]).toEqual([5, 5]);
  });

  test('rejects bad arguments', () => {
    expect(() => emaUpdate(new Float32Array(2), [1], 0.9)).toThrow(/emaUpdate: x has length 1, expected 2/);
    expect(() => emaUpdate(new Float32Array(1), [1], 1.5)).toThrow(/emaUpdate: decay must be in \[0, 1\]/);
  });
});

describe('pairwiseAgreement', () => {
  /** For every unordered pair of items, compare the sign of their position difference in both rankings. */
  function naive(a: number[], b: number[]): number {
    const items = [...a].sort((x, y) => x - y);
    let same = 0;
    let total = 0;
    for (let i = 0; i < items.length; i++) {
      for (let j = i + 1; j < items.length; j++) {
        const sa = Math.sign(a.indexOf(items[i]) - a.indexOf(items[j]));
        const sb = Math.sign(b.indexOf(items[i]) - b.indexOf(items[j]));
        if (sa === sb) same += 1;
        total += 1;
      }
    }
    return same / total;
  }

  function shuffle(n: number, random: () => number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  }

  test('matches the pair-by-pair reference on seeded permutations', () => {
    const random = seededRandom(161);
    for (let trial = 0; trial < 30; trial++) {
      const n = 2 + (trial % 8);
      const a = shuffle(n, random);
      const b = shuffle(n, random);
      expect(pairwiseAgreement(a, b), `${a} vs ${b}`).toBeCloseTo(naive(a, b), 14);
    }
  });

  test('identical → 1, reversed → 0, one adjacent swap → 1 − 1/C(n,2); item ids need not be 0…n−1', () => {
    expect(pairwiseAgreement([3, 1, 2, 0], [3, 1, 2, 0])).toBe(1);
    expect(pairwiseAgreement([3, 1, 2, 0], [0, 2, 1, 3])).toBe(0);
    expect(pairwiseAgreement([0, 1, 2, 3, 4], [0, 2, 1, 3, 4])).toBeCloseTo(1 - 1 / 10, 15);
    expect(pairwiseAgreement([10, 20], [20, 10])).toBe(0);
  });

  test('rejects rankings of different items, duplicates and n < 2', () => {
    expect(() => pairwiseAgreement([0], [0])).toThrow(/pairwiseAgreement: orderA must rank at least 2 items/);
    expect(() => pairwiseAgreement([0, 1], [0, 1, 2])).toThrow(/pairwiseAgreement: orderB has length 3/);
    expect(() => pairwiseAgreement([0, 1], [1, 1])).toThrow(/pairwiseAgreement: orderB lists item 1 twice/);
    expect(() => pairwiseAgreement([0, 2], [0, 1])).toThrow(/pairwiseAgreement: item 2 of orderA is missing from orderB/);
  });
});
