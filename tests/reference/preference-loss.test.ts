import { describe, expect, test } from 'vitest';
import type { PreferenceLoss } from '../../src/kernels/preference-loss';
import { preferenceLossBackward, preferenceLossForward } from '../../src/reference/preference-loss';
import { expectGradient } from '../helpers/finite-diff';
import { normal } from '../helpers/random';

const LOSSES: PreferenceLoss[] = ['sigmoid', 'ipo'];

function offsetsOf(sizes: readonly number[]): number[] {
  const offsets = [0];
  for (const k of sizes) offsets.push(offsets[offsets.length - 1] + k);
  return offsets;
}

// (B·T) response mask: row b's response is positions b % 3 + 1 .. T − (b % 2) − 1 (a prompt, some padding)
function responseMask(B: number, T: number): Float64Array {
  const w = new Float64Array(B * T);
  for (let b = 0; b < B; b++) w.fill(1, b * T + (b % 3) + 1, (b + 1) * T - (b % 2));
  return w;
}

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, x) => s + x, 0);

describe('reference DPO / IPO loss', () => {
  const layouts = [
    { sizes: [2], T: 1 },
    { sizes: [2, 3, 5, 4], T: 4 },
    { sizes: [7, 2], T: 6 },
  ];
  for (const loss of LOSSES) {
    for (const { sizes, T } of layouts) {
      test(`${loss}: dlogp matches central finite differences of gradScale·Σ losses, K = [${sizes}], T = ${T}`, () => {
        const offsets = offsetsOf(sizes);
        const B = offsets[sizes.length];
        const beta = 0.5;
        const seed = B * 10 + T;
        // Log-probs around −2, the reference 0.3 off; T = 1 keeps every position (a mask of 1s), else a prompt
        // and padding with w = 0 and a non-unit weight to see that w scales the gradient.
        const logp = Float64Array.from(normal(B * T, seed, 1), (x) => x - 2);
        const refLogp = Float64Array.from(normal(B * T, seed + 1, 0.3), (d, i) => logp[i] - d);
        const w = T === 1 ? new Float64Array(B).fill(1) : responseMask(B, T);
        if (T > 1) w[T + 2] = 0.5;
        const gradScale = 1 / sizes.length;
        const f = () => gradScale * sum(preferenceLossForward(logp, refLogp, w, offsets, beta, loss, B, T).losses);
        const dlogp = preferenceLossBackward(logp, refLogp, w, offsets, beta, loss, gradScale, B, T);
        expectGradient(dlogp, f, logp, `d${loss}/dlogp`);
        dlogp.forEach((g, i) => {
          if (w[i] === 0) expect(g).toBe(0);
        });
        expect(dlogp.some((g) => g !== 0)).toBe(true);
      });
    }
  }

  test('policy = reference: the sigmoid loss is log 2 and the IPO loss 1/(4β²) in every group, rewards are 0', () => {
    const offsets = offsetsOf([3, 2, 4]);
    const [B, T, beta] = [9, 5, 0.1];
    const logp = Float64Array.from(normal(B * T, 7), (x) => x - 3);
    const w = responseMask(B, T);
    const sig = preferenceLossForward(logp, logp, w, offsets, beta, 'sigmoid', B, T);
    const ipo = preferenceLossForward(logp, logp, w, offsets, beta, 'ipo', B, T);
    for (const l of sig.losses) expect(l).toBeCloseTo(Math.LN2, 15);
    for (const l of ipo.losses) expect(l).toBeCloseTo(1 / (4 * beta * beta), 12);
    expect(Array.from(sig.rewards)).toEqual(new Array(B).fill(0));
  });

  test('K = 2 is the closed form: −log σ(β·(z_w − z_l)) and (z_w − z_l − 1/(2β))², stable for log-ratios of ±1e3', () => {
    // Row 0 (chosen) and row 1 (rejected), T = 3, the first position a prompt (w = 0, its logp NaN: never read).
    const logp = [NaN, -1.5, -0.25, NaN, -2, -1];
    const refLogp = [NaN, -1, -0.5, NaN, -1.75, -1.5];
    const w = [0, 1, 1, 0, 1, 1];
    const [zw, zl, beta] = [-0.5 + 0.25, -0.25 + 0.5, 0.5];
    const h = zw - zl;
    const sig = preferenceLossForward(logp, refLogp, w, [0, 2], beta, 'sigmoid', 2, 3);
    expect(sig.losses[0]).toBeCloseTo(-Math.log(1 / (1 + Math.exp(-beta * h))), 15);
    expect(Array.from(sig.rewards)).toEqual([beta * zw, beta * zl]);
    expect(preferenceLossForward(logp, refLogp, w, [0, 2], beta, 'ipo', 2, 3).losses[0]).toBeCloseTo((h - 1 / (2 * beta)) ** 2, 15);
    // The DPO gradient −β·σ(−β·h) on the chosen row's response positions and its negative on the rejected row's.
    const g = beta / (1 + Math.exp(beta * h));
    const dlogp = preferenceLossBackward(logp, refLogp, w, [0, 2], beta, 'sigmoid', 1, 2, 3);
    expect(Array.from(dlogp, (x) => x + 0)).toEqual([0, -g, -g, 0, g, g]);
    // z = ±1e3: the correct order costs log1p(e^−1000) = 0, the reversed one exactly β·2e3; the gradient saturates at ∓β.
    const far = preferenceLossForward([1e3, -1e3, -1e3, 1e3], [0, 0, 0, 0], [1, 1, 1, 1], [0, 2, 4], beta, 'sigmoid', 4, 1);
    expect(Array.from(far.losses)).toEqual([0, 1e3]);
    const farGrad = preferenceLossBackward([1e3, -1e3, -1e3, 1e3], [0, 0, 0, 0], [1, 1, 1, 1], [0, 2, 4], beta, 'sigmoid', 1, 4, 1);
    expect(Array.from(farGrad, (x) => x + 0)).toEqual([0, 0, -beta, beta]);
  });
});
