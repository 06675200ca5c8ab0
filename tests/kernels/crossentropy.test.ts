import { describe, expect } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { crossentropyForwardBackward } from '../../src/kernels/crossentropy';
import { ROW_VARIANTS, type RowVariant } from '../../src/kernels/rows';
import * as ref from '../../src/reference/crossentropy';
import { gpuTest } from '../helpers/gpu';
import { integers, normal, uniform } from '../helpers/random';
import { expectClose, expectFinite, type Tolerance } from '../helpers/tolerance';

// Both variants (tree, serial) are held to the same tolerances (a serial Σexp of V positive terms is still good to
// ~1e-6 relative at V = 5000).
// Loss: f32 Σexp over up to V = 5000 terms (≲ 1e-6 relative) and one log; the max − logit difference is exact
// or rounded once, so losses up to 2e4 (±1e4 logits) keep ~1e-7 relative. 1e-5 either way leaves margin.
const LOSS: Tolerance = { atol: 1e-5, rtol: 1e-5 };
// Gradient: softmax by exp (WGSL allows 3 + 2|x| ulp, i.e. ~1e-5 relative for x ≈ −20 where p is still visible)
// times 1/Σexp; p − 1 at the target loses nothing beyond f32 rounding of 1. All gradients here are ≤ 1 in size.
const DLOGITS: Tolerance = { atol: 2e-7, rtol: 2e-5 };

interface Case {
  N: number;
  V: number;
  scale?: number; // logits ~ N(0, scale²)
  extreme?: boolean; // logits uniform in ±1e4
}

async function run(rt: GpuRuntime, variant: RowVariant, c: Case, seed: number) {
  const { N, V } = c;
  const x = c.extreme ? uniform(N * V, seed, -1e4, 1e4) : normal(N * V, seed, c.scale ?? 2);
  const y = integers(N, V, seed + 1);
  // Weights: mostly 1, some fractional, every third row (from the second on) masked.
  const w = Float32Array.from({ length: N }, (_, n) => (n % 3 === 1 ? 0 : n % 4 === 0 ? 0.5 : 1));
  const total = w.reduce((a, b) => a + b, 0);
  const gradScale = total > 0 ? 1 / total : 1;
  const logits = rt.upload(x, [N, V], 'logits');
  const targets = rt.upload(y, [N], 'targets', 'u32');
  const weights = rt.upload(w, [N], 'weights');
  const losses = rt.upload(new Float32Array(N).fill(NaN), [N], 'losses'); // garbage: every element must be written
  const dlogits = rt.upload(new Float32Array(N * V).fill(NaN), [N, V], 'dlogits');
  const step = rt.step('crossentropy');
  crossentropyForwardBackward(step, logits, targets, weights, losses, dlogits, gradScale, { variant });
  const [l, d] = [step.read(losses), step.read(dlogits)];
  await step.submit();
  const out = { losses: await l, dlogits: await d };
  rt.free(logits, targets, weights, losses, dlogits);
  return { out, x, y, w, gradScale };
}

// Ragged shapes: row counts around the serial variant's 64 rows per workgroup, vocabularies that are not multiples
// of the tree's 256 threads per row.
const RAGGED: Case[] = [1, 3, 17, 129].flatMap((N) => [5, 33, 100, 257].map((V) => ({ N, V })));
const CASES: Case[] = [
  { N: 1, V: 1 },
  { N: 5, V: 3 },
  { N: 4, V: 5000 },
  { N: 7, V: 33, scale: 30 },
  { N: 6, V: 300, extreme: true },
  ...RAGGED,
];

describe.for(ROW_VARIANTS)('crossentropy, %s variant', (variant) => {
  for (const c of CASES) {
    gpuTest(`loss and gradient match the float64 reference, N=${c.N} V=${c.V}${c.extreme ? ' logits ±1e4' : ''}`, async ({ rt }) => {
      const { out, x, y, w, gradScale } = await run(rt, variant, c, c.N * 100 + c.V);
      expectClose(out.losses, ref.crossentropyForward(x, y, w, c.N, c.V), LOSS, 'crossentropy losses');
      expectClose(out.dlogits, ref.crossentropyBackward(x, y, w, gradScale, c.N, c.V), DLOGITS, 'crossentropy dlogits');
      expectFinite(out.dlogits, 'crossentropy dlogits');
      // Masked rows are exactly zero, not merely close.
      for (let n = 0; n < c.N; n++) {
        if (w[n] !== 0) continue;
        expect(out.losses[n]).toBe(0);
        expect(out.dlogits.subarray(n * c.V, (n + 1) * c.V).every((g) => g === 0)).toBe(true);
      }
    });
  }

  gpuTest('losses and gradients are bitwise reproducible (fixed-order reductions)', async ({ rt }) => {
    const a = await run(rt, variant, { N: 70, V: 45 }, 11);
    const b = await run(rt, variant, { N: 70, V: 45 }, 11);
    expect(Array.from(b.out.losses)).toEqual(Array.from(a.out.losses));
    expect(Array.from(b.out.dlogits)).toEqual(Array.from(a.out.dlogits));
  });

  gpuTest('a masked row stays exactly zero even with non-finite logits; a bad target with weight ≠ 0 is NaN', async ({ rt }) => {
    const [N, V] = [3, 4];
    const x = Float32Array.from([NaN, 1, 2, Infinity, 0, 1, 2, 3, 0, 1, 2, 3]);
    const logits = rt.upload(x, [N, V], 'logits');
    const targets = rt.upload([1, 7, 7], [N], 'targets', 'u32'); // row 2 has target 7 ≥ V but weight 0
    const weights = rt.upload([0, 1, 0], [N], 'weights');
    const losses = rt.tensor([N], 'losses');
    const dlogits = rt.tensor([N, V], 'dlogits');
    const step = rt.step('crossentropy odd rows');
    crossentropyForwardBackward(step, logits, targets, weights, losses, dlogits, 1, { variant });
    const [l, d] = [step.read(losses), step.read(dlogits)];
    await step.submit();
    const [lv, dv] = [await l, await d];
    expect([lv[0], lv[2]]).toEqual([0, 0]);
    expect(Array.from(dv.subarray(0, V)).concat(Array.from(dv.subarray(2 * V))).every((g) => g === 0)).toBe(true);
    expect(Number.isNaN(lv[1])).toBe(true);
    expect(Array.from(dv.subarray(V, 2 * V)).every(Number.isNaN)).toBe(true);
    rt.free(logits, targets, weights, losses, dlogits);
  });
});

describe('crossentropy', () => {
  gpuTest('wrong shapes are rejected before anything runs', async ({ rt }) => {
    const [N, V] = [4, 6];
    const logits = rt.tensor([N, V], 'logits');
    const odd = rt.tensor([N * V + 1], 'odd-logits');
    const targets = rt.tensor([N], 'targets', 'u32');
    const ftargets = rt.tensor([N], 'f32-targets');
    const weights = rt.tensor([N], 'weights');
    const short = rt.tensor([N - 1], 'short');
    const dlogits = rt.tensor([N, V], 'dlogits');
    const transposed = rt.tensor([V, N], 'transposed-logits');
    const step = rt.step('bad');
    const k = 'crossentropy_forward_backward';
    expect(() => crossentropyForwardBackward(step, odd, targets, weights, weights, dlogits, 1)).toThrow(new RegExp(`${k}: odd-logits has 25 elements, not N·V for N = 4`));
    expect(() => crossentropyForwardBackward(step, logits, ftargets, weights, weights, dlogits, 1)).toThrow(new RegExp(`${k}: f32-targets must be u32`));
    expect(() => crossentropyForwardBackward(step, logits, targets, short, weights, dlogits, 1)).toThrow(new RegExp(`${k}: short \\(weights \\(N\\)\\) has 3 elements, expected 4`));
    expect(() => crossentropyForwardBackward(step, logits, targets, weights, short, dlogits, 1)).toThrow(new RegExp(`${k}: short \\(losses \\(N\\)\\) has 3 elements, expected 4`));
    expect(() => crossentropyForwardBackward(step, transposed, targets, weights, weights, dlogits, 1)).toThrow(new RegExp(`${k}: transposed-logits has shape \\[6,4\\]`));
    expect(() => crossentropyForwardBackward(step, logits, targets, weights, weights, dlogits, NaN)).toThrow(/gradScale must be finite/);
    expect(step.dispatchCount).toBe(0);
    rt.free(logits, odd, targets, ftargets, weights, short, dlogits, transposed);
  });
});
