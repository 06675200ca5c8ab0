import { describe, expect, test } from 'vitest';
import { grpoLossBackward, grpoLossForward, type GrpoScalars, rlooLossBackward, rlooLossForward } from '../../src/reference/grpo-loss';
import { ppoPolicyLossBackward, ppoPolicyLossForward } from '../../src/reference/ppo-loss';
import { klPerToken } from '../../src/rlhf/math';
import { expectGradient } from '../helpers/finite-diff';
import { normal } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, x) => s + x, 0);

// Both sides float64, the same quantity in another form: a few ulps of O(1)–O(10) values.
const EXACT = { atol: 1e-12, rtol: 1e-10 };

const SCALARS: GrpoScalars = { epsLow: 0.2, epsHigh: 0.28, beta: 0.04 };

/** Ragged weights: mostly 1, some fractional or above 1, every fifth token masked. */
function weightsOf(N: number): Float64Array {
  return Float64Array.from({ length: N }, (_, n) => (n % 5 === 3 ? 0 : n % 4 === 0 ? 0.5 : n % 7 === 0 ? 2 : 1));
}

/** logp, oldLogp, refLogp with ρ spread over ~[0.5, 2] and every ρ ≥ 1e-3 (in log) from the kinks 1−ε_low, 1+ε_high. */
function inputs(N: number, seed: number, s: GrpoScalars) {
  const oldLogp = Float64Array.from(normal(N, seed, 1), (x) => x - 3);
  const d = Float64Array.from(normal(N, seed + 1, 0.35));
  d.forEach((x, n) => {
    for (const edge of [Math.log(1 - s.epsLow), Math.log(1 + s.epsHigh)]) if (Math.abs(x - edge) < 1e-3) d[n] = edge + 0.01;
  });
  const logp = Float64Array.from(oldLogp, (x, n) => x + d[n]);
  const refLogp = Float64Array.from(normal(N, seed + 2, 0.8), (e, n) => logp[n] + e);
  return { logp, oldLogp, refLogp, A: Float64Array.from(normal(N, seed + 3)) };
}

describe('reference GRPO loss', () => {
  const N = 60;
  const w = weightsOf(N);
  const gradScale = 0.7;

  for (const beta of [0, 0.04, 1]) {
    test(`dlogp matches central finite differences of gradScale·Σ losses (β = ${beta}), both clip sides exercised`, () => {
      const s = { ...SCALARS, beta };
      const { logp, oldLogp, refLogp, A } = inputs(N, 11, s);
      const loss = () => gradScale * sum(grpoLossForward(logp, oldLogp, refLogp, A, w, s).losses);
      const dlogp = grpoLossBackward(logp, oldLogp, refLogp, A, w, s, gradScale);
      expectGradient(dlogp, loss, logp, `dgrpo/dlogp (β = ${beta})`);
      const { clippedLow, clippedHigh } = grpoLossForward(logp, oldLogp, refLogp, A, w, s);
      expect(clippedLow.filter((c) => c > 0).length).toBeGreaterThan(2);
      expect(clippedHigh.filter((c) => c > 0).length).toBeGreaterThan(2);
      // Clipped tokens carry only the KL gradient.
      const klOnly = grpoLossBackward(logp, logp, refLogp, new Float64Array(N), w, s, gradScale);
      for (let n = 0; n < N; n++) if (clippedLow[n] + clippedHigh[n] > 0) expect(dlogp[n]).toBeCloseTo(klOnly[n], 14);
    });
  }

  test('the surrogate by cases: inside the range, each side clipped or not, asymmetric ε, masked', () => {
    const s = { epsLow: 0.2, epsHigh: 0.28, beta: 0 };
    // ρ = 1.1 (inside); 1.5 with A > 0 (high clip) and A < 0 (not); 0.5 with A < 0 (low clip) and A > 0 (not);
    // 1.25, inside [0.8, 1.28] though outside PPO's symmetric [0.8, 1.2]; a masked row.
    const rho = [1.1, 1.5, 1.5, 0.5, 0.5, 1.25, 1];
    const A = [2, 2, -2, -2, 2, 3, 7];
    const logp = rho.map(Math.log);
    const old = rho.map(() => 0);
    const wts = [1, 1, 1, 1, 1, 1, 0];
    const out = grpoLossForward(logp, old, old, A, wts, s);
    [-2.2, -2 * 1.28, 3, 2 * 0.8, -1, -3.75, 0].forEach((v, n) => expect(out.losses[n]).toBeCloseTo(v, 12));
    expect(Array.from(out.clippedHigh)).toEqual([0, 1, 0, 0, 0, 0, 0]);
    expect(Array.from(out.clippedLow)).toEqual([0, 0, 0, 1, 0, 0, 0]);
    const dlogp = grpoLossBackward(logp, old, old, A, wts, s, 1);
    [-2.2, 0, 3, 0, -1, -3.75, 0].forEach((v, n) => expect(dlogp[n]).toBeCloseTo(v, 12));
  });

  test('k3 by hand: e = refLogp − logp ∈ {0, ±1, 2, 1e-6}, its gradient 1 − exp(e), and klPerToken agrees', () => {
    const s = { epsLow: 0.2, epsHigh: 0.28, beta: 0.5 };
    const e = [0, 1, -1, 2, 1e-6];
    const logp = e.map(() => 0); // so that e is exactly refLogp
    const refLogp = e;
    const zero = e.map(() => 0);
    const ones = e.map(() => 1);
    const out = grpoLossForward(logp, logp, refLogp, zero, ones, s);
    const want = [0, Math.E - 2, 1 / Math.E, Math.E ** 2 - 3, 5.000001666667083e-13];
    // expm1(e) − e still cancels from e down to e²/2: at e = 1e-6 about 6 of float64's 16 digits go (2e-10
    // relative here), far beyond the ~7 digits of the f32 kernel it checks.
    const K3 = { atol: 0, rtol: 1e-9 };
    expectClose(out.kl, want, K3, 'k3');
    expectClose(out.losses, want.map((k) => 0.5 * k), K3, 'β·k3 (A = 0)');
    expectClose(out.kl, klPerToken(logp, refLogp, 'k3'), EXACT, 'the kl metric of src/rlhf/math.ts');
    const dlogp = grpoLossBackward(logp, logp, refLogp, zero, ones, s, 2);
    expectClose(dlogp, e.map((x) => 2 * 0.5 * (1 - Math.exp(x))), { atol: 1e-18, rtol: 1e-9 }, 'gradScale·β·(1 − exp(e))');
  });

  test('β = 0 never reads refLogp, and ε_low = ε_high = ε at β = 0 is PPO’s clipped surrogate', () => {
    const s = { epsLow: 0.2, epsHigh: 0.2, beta: 0 };
    const { logp, oldLogp, A } = inputs(N, 21, s);
    const nan = new Float64Array(N).fill(NaN);
    const out = grpoLossForward(logp, oldLogp, nan, A, w, s);
    const ppo = ppoPolicyLossForward(logp, oldLogp, A, w, 0.2);
    expectClose(out.losses, ppo.losses, EXACT, 'losses = PPO losses');
    expectClose(Float64Array.from(out.clippedLow, (c, n) => c + out.clippedHigh[n]), ppo.clipped, EXACT, 'clipped low + high = PPO clipped');
    expect(out.kl.every((k) => k === 0)).toBe(true);
    expectClose(grpoLossBackward(logp, oldLogp, nan, A, w, s, 0.3), ppoPolicyLossBackward(logp, oldLogp, A, w, 0.2, 0.3), EXACT, 'dlogp = PPO dlogp');
  });
});

describe('reference RLOO loss', () => {
  // B = 4 rows of T = 6 positions, ragged: responses of 0, 1, 6 and 3 tokens, starting after a prompt (not a prefix).
  const B = 4;
  const T = 6;
  const spans = [
    [0, 0],
    [2, 3],
    [0, 6],
    [1, 4],
  ];
  const mask = new Float64Array(B * T);
  spans.forEach(([from, to], b) => mask.fill(1, b * T + from, b * T + to));
  const A = Float64Array.from([0.5, -1.25, 2, -0.75]);

  test('loss by hand and its gradient against finite differences', () => {
    const logp = Float64Array.from(normal(B * T, 5), (x) => x - 2);
    const losses = rlooLossForward(logp, mask, A);
    spans.forEach(([from, to], b) => expect(losses[b]).toBeCloseTo(-A[b] * sum(logp.subarray(b * T + from, b * T + to)), 12));
    expect(losses[0]).toBe(-0); // no response tokens
    expectGradient(rlooLossBackward(mask, A), () => sum(rlooLossForward(logp, mask, A)), logp, 'drloo/dlogp');
  });

  test('is the GRPO loss’s gradient at ρ = 1 with β = 0, whatever the clip range: the RLOO-as-GRPO reduction', () => {
    const logp = Float64Array.from(normal(B * T, 6), (x) => x - 2);
    const perToken = Float64Array.from(mask, (_, i) => A[Math.floor(i / T)]);
    for (const epsLow of [0, 0.2, 1]) {
      const s = { epsLow, epsHigh: epsLow, beta: 0 };
      const dlogp = grpoLossBackward(logp, logp, logp, perToken, mask, s, 1);
      expectClose(dlogp, rlooLossBackward(mask, A), EXACT, `GRPO at ρ = 1, ε = ${epsLow}`);
    }
  });
});
