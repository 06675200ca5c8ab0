// gaoFit: exact recovery of α and β from noiseless curves (R² = 1), a hand-computed least-squares fit, a noisy case
// whose answer is known by construction (noise orthogonal to both regressors leaves α, β unchanged and sets R²),
// the peaks, the degenerate inputs (a reason, never NaN), and fast-check properties over random α, β > 0 and over
// arbitrary inputs.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { type GaoFit, gaoFit, type GaoForm } from '../../src/rlhf/gao-fit';
import { normal } from '../helpers/random';

/** The two regressors: gain = α·u + β·v. */
function regressors(form: GaoForm, d: number[]): { u: number[]; v: number[] } {
  return { u: d, v: d.map((x) => (form === 'bon' ? -x * x : x === 0 ? 0 : -x * Math.log(x))) };
}

function curve(form: GaoForm, alpha: number, beta: number, d: number[]): number[] {
  const { u, v } = regressors(form, d);
  return u.map((x, i) => alpha * x + beta * v[i]);
}

function expectFit(fit: GaoFit): Extract<GaoFit, { ok: true }> {
  if (!fit.ok) throw new Error(`expected a fit, got: ${fit.reason}`);
  return fit;
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('gaoFit', () => {
  const d = [0, 0.5, 1, 1.5, 2, 3];
  const kl = d.map((x) => x * x);

  test('noiseless best-of-N curve d(α − βd): α, β exact, R² = 1, peak α/(2β)', () => {
    const fit = expectFit(gaoFit('bon', kl, curve('bon', 1.2, 0.3, d)));
    expect(rel(fit.alpha, 1.2)).toBeLessThan(1e-12);
    expect(rel(fit.beta, 0.3)).toBeLessThan(1e-12);
    expect(fit.r2).toBeCloseTo(1, 12);
    expect(fit.peak).toBeCloseTo(2, 10);
    expect(fit.peakKL).toBeCloseTo(4, 10);
    expect([fit.points, fit.skipped]).toEqual([6, 0]);
  });

  test('noiseless RL curve d(α − β ln d): α, β exact, R² = 1, peak exp(α/β − 1)', () => {
    const fit = expectFit(gaoFit('rl', kl, curve('rl', 0.8, 0.4, d)));
    expect(rel(fit.alpha, 0.8)).toBeLessThan(1e-12);
    expect(rel(fit.beta, 0.4)).toBeLessThan(1e-12);
    expect(fit.r2).toBeCloseTo(1, 12);
    expect(fit.peak).toBeCloseTo(Math.E, 10);
  });

  test('by hand: best-of-N through (d, gain) = (1, 1), (2, 2), (3, 1)', () => {
    // Σuu = 14, Σuv = −36, Σvv = 98, Σuy = 8, Σvy = −18, det = 76: α = 136/76 = 34/19, β = 36/76 = 9/19.
    // Fitted 25/19, 32/19, 21/19: SS_res = 76/361 = 4/19; SS_tot about the mean 4/3 is 2/3; R² = 1 − 6/19 = 13/19.
    const fit = expectFit(gaoFit('bon', [1, 4, 9], [1, 2, 1]));
    expect(fit.alpha).toBeCloseTo(34 / 19, 13);
    expect(fit.beta).toBeCloseTo(9 / 19, 13);
    expect(fit.r2).toBeCloseTo(13 / 19, 13);
    expect(fit.peak).toBeCloseTo(17 / 9, 13);
  });

  test('noisy, with a known answer: noise orthogonal to u and v leaves α, β and sets R² = 1 − ‖noise‖²/SS_tot', () => {
    for (const form of ['bon', 'rl'] as const) {
      const dd = Array.from({ length: 12 }, (_, i) => 0.25 * (i + 1));
      const { u, v } = regressors(form, dd);
      // Gram–Schmidt: seeded noise minus its projections on u and on v's part orthogonal to u.
      const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
      const vPerp = v.map((x, i) => x - (dot(v, u) / dot(u, u)) * u[i]);
      const raw = Array.from(normal(12, 7, 0.3));
      const noise = raw.map((x, i) => x - (dot(raw, u) / dot(u, u)) * u[i] - (dot(raw, vPerp) / dot(vPerp, vPerp)) * vPerp[i]);
      const gain = curve(form, 0.9, 0.25, dd).map((y, i) => y + noise[i]);
      const mean = gain.reduce((s, y) => s + y, 0) / gain.length;
      const ssTot = gain.reduce((s, y) => s + (y - mean) ** 2, 0);
      const fit = expectFit(gaoFit(form, dd.map((x) => x * x), gain));
      expect(rel(fit.alpha, 0.9), form).toBeLessThan(1e-10);
      expect(rel(fit.beta, 0.25), form).toBeLessThan(1e-10);
      expect(fit.r2, form).toBeCloseTo(1 - dot(noise, noise) / ssTot, 10);
      expect(fit.r2, form).toBeLessThan(0.999); // the noise is real
    }
  });

  test('peaks without an interior maximum: Infinity when the fit rises without bound, 0 when it only falls', () => {
    const dd = [0.5, 1, 2, 3];
    const k = dd.map((x) => x * x);
    expect(expectFit(gaoFit('bon', k, curve('bon', 1, -0.5, dd))).peak).toBe(Infinity); // β < 0
    expect(expectFit(gaoFit('bon', k, curve('bon', -1, 0.5, dd))).peak).toBe(0); // α < 0 < β: falls from the start
    expect(expectFit(gaoFit('rl', k, curve('rl', 1, -0.5, dd))).peak).toBe(Infinity);
    // RL with β > 0 always peaks inside, however negative α is.
    expect(expectFit(gaoFit('rl', k, curve('rl', -1, 0.5, dd))).peak).toBeCloseTo(Math.exp(-3), 10);
  });

  test('unusable points are skipped and counted: NaN or negative KL, non-finite gain', () => {
    const fit = expectFit(gaoFit('bon', [NaN, -0.01, 1, 4, 9, 16], [0, 0, ...curve('bon', 1, 0.1, [1, 2, 3]), Infinity]));
    expect([fit.points, fit.skipped]).toEqual([3, 3]);
    expect(fit.alpha).toBeCloseTo(1, 12);
  });

  test('degenerate inputs give a reason, never NaN', () => {
    const cases: [GaoForm, number[], number[], RegExp][] = [
      ['bon', [], [], /at least 2 points .* got 0/],
      ['rl', [1], [0.5], /at least 2 points .* got 1/],
      ['bon', [NaN, 1], [1, 1], /at least 2 points .* got 1/],
      ['bon', [0, 0, 0], [0, 1, 2], /every point has KL = 0/],
      ['bon', [1, 1, 1], [0.5, 0.6, 0.7], /do not determine α and β separately/], // one distinct d
      ['rl', [0, 1, 1], [0, 0.5, 0.6], /not both 1/], // d·ln d = 0 at d = 0 and 1: v = 0
      ['bon', [1, 4, 9], [2, 2, 2], /every gain is 2: R² about their mean is undefined/],
    ];
    for (const [form, k, g, reason] of cases) {
      const fit = gaoFit(form, k, g);
      expect(fit.ok, `${form} ${k}`).toBe(false);
      if (!fit.ok) expect(fit.reason).toMatch(reason);
    }
    expect(() => gaoFit('bon', [1, 2], [1])).toThrow(/gaoFit: gain has length 1, kl has 2/);
    expect(() => gaoFit('ppo' as GaoForm, [1, 2], [1, 2])).toThrow(/form must be 'bon' or 'rl'/);
  });

  test('property: random α, β > 0 and three or more distinct d are recovered, with R² = 1', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<GaoForm>('bon', 'rl'),
        fc.double({ min: 0.05, max: 5, noNaN: true }),
        fc.double({ min: 0.05, max: 5, noNaN: true }),
        fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { minLength: 3, maxLength: 20 }),
        (form, alpha, beta, steps) => {
          // Three distinct d give distinct gains for a curve with at most one maximum, so SS_tot > 0; d = 0 may be one.
          const dd = steps.map((s) => s / 10);
          const fit = expectFit(gaoFit(form, dd.map((x) => x * x), curve(form, alpha, beta, dd)));
          // Two points as close as 5.9 and 6.0 make the normal equations ~1e4 ill-conditioned: 1e-8 leaves room.
          expect(rel(fit.alpha, alpha)).toBeLessThan(1e-8);
          expect(rel(fit.beta, beta)).toBeLessThan(1e-8);
          expect(fit.r2).toBeGreaterThan(1 - 1e-9);
          const peak = form === 'bon' ? alpha / (2 * beta) : Math.exp(alpha / beta - 1);
          expect(rel(fit.peak, peak)).toBeLessThan(1e-6);
        },
      ),
      { seed: 1, numRuns: 500 },
    );
  });

  test('property: any input, extremes of float64 included, gives finite numbers or a reason (never NaN)', () => {
    const value = fc.oneof(fc.double(), fc.constantFrom(0, 1, -0, NaN, Infinity));
    fc.assert(
      fc.property(fc.constantFrom<GaoForm>('bon', 'rl'), fc.array(fc.tuple(value, value), { maxLength: 8 }), (form, pts) => {
        const fit = gaoFit(form, pts.map((p) => p[0]), pts.map((p) => p[1]));
        if (fit.ok) {
          for (const x of [fit.alpha, fit.beta, fit.r2]) expect(Number.isFinite(x)).toBe(true);
          expect(fit.peak).toBeGreaterThanOrEqual(0); // a number ≥ 0 or Infinity, never NaN
          expect(fit.r2).toBeLessThanOrEqual(1);
        } else {
          expect(fit.reason.length).toBeGreaterThan(0);
        }
      }),
      { seed: 2, numRuns: 1000 },
    );
  });
});
