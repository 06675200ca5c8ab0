import { describe, expect } from 'vitest';
import { softmaxBackward, softmaxForward, type SoftmaxOptions } from '../../src/kernels/softmax';
import * as ref from '../../src/reference/softmax';
import type { GpuRuntime } from '../../src/gpu';
import { gpuTest } from '../helpers/gpu';
import { normal, uniform } from '../helpers/random';
import { expectClose, expectFinite, type Tolerance } from '../helpers/tolerance';

// Forward: each y is one f32 exp (a few ulp) times 1/sum, where the sum of ≤ 1025 terms in (0, 1] is added in a
// per-thread loop then a tree, so its relative error stays ~1e-6; 1e-5 relative covers that with margin, and 1e-7
// absolute covers the tiny probabilities whose exp argument carries the f32 rounding of s·x − max (|x| ≲ 10).
const FWD: Tolerance = { atol: 1e-7, rtol: 1e-5 };
// Backward: s·y·(dy − Σ dy·y); the difference loses ~|Σ dy·y|·1e-7 absolutely, scaled by y ≤ 1 and s ≤ 2.
const BWD: Tolerance = { atol: 1e-6, rtol: 1e-5 };

async function run(rt: GpuRuntime, x: Float32Array, dy: Float32Array, rows: number, cols: number, options: SoftmaxOptions) {
  const inp = rt.upload(x, [rows, cols], 'x');
  const dout = rt.upload(dy, [rows, cols], 'dy');
  const out = rt.tensor([rows, cols], 'y');
  const dinp = rt.tensor([rows, cols], 'dx');
  const step = rt.step('softmax');
  softmaxForward(step, inp, out, rows, cols, options);
  softmaxBackward(step, out, dout, dinp, rows, cols, options);
  const [y, dx] = [step.read(out), step.read(dinp)];
  await step.submit();
  rt.free(inp, dout, out, dinp);
  return { y: await y, dx: await dx };
}

/** Checks the GPU forward against the reference, and the GPU backward against the reference fed the GPU's y. */
function check(y: Float32Array, dx: Float32Array, x: ArrayLike<number>, dy: ArrayLike<number>, rows: number, cols: number,
  options: SoftmaxOptions, what: string, fwd = FWD, bwd = BWD) {
  expectClose(y, ref.softmaxForward(x, rows, cols, options), fwd, `${what} forward`);
  expectClose(dx, ref.softmaxBackward(y, dy, rows, cols, options), bwd, `${what} backward`);
}

describe('softmax', () => {
  // Lengths 1, 3, odd ones around the 256-thread workgroup (257 loops twice) and 1025 (five strides).
  for (const [rows, cols] of [[1, 1], [4, 3], [3, 32], [5, 257], [2, 1025], [33, 64]]) {
    for (const options of [{}, { scale: 0.125 }] as SoftmaxOptions[]) {
      gpuTest(`matches the float64 reference, ${rows}×${cols} ${JSON.stringify(options)}`, async ({ rt }) => {
        const x = normal(rows * cols, rows * 1000 + cols, 3);
        const dy = normal(rows * cols, cols + 7);
        const { y, dx } = await run(rt, x, dy, rows, cols, options);
        check(y, dx, x, dy, rows, cols, options, `${rows}×${cols}`);
      });
    }
  }

  for (const [B, T, scale] of [[1, 1, 1], [2, 7, 0.5], [3, 33, 1], [1, 257, 0.125]]) {
    gpuTest(`causal rows match the reference and put exact 0 past the diagonal, ${B}×${T}×${T}, scale ${scale}`, async ({ rt }) => {
      const rows = B * T;
      const x = normal(rows * T, T, 2);
      // Huge dy on masked entries must not leak into the gradient.
      const dy = normal(rows * T, T + 1).map((v, i) => ((i % T) > Math.floor(i / T) % T ? 1e20 : v));
      const options = { causalT: T, scale };
      const { y, dx } = await run(rt, x, dy, rows, T, options);
      check(y, dx, x, dy, rows, T, options, `causal T=${T}`);
      for (let r = 0; r < rows; r++) {
        for (let c = (r % T) + 1; c < T; c++) {
          if (y[r * T + c] !== 0 || dx[r * T + c] !== 0) expect.fail(`row ${r} col ${c}: masked entry not 0`);
        }
      }
    });
  }

  gpuTest('extreme logits stay finite: ±1e4, uniform in [-1000, 1000], a row of -1e30', async ({ rt }) => {
    const cols = 257;
    const rows = 3;
    const x = new Float32Array(rows * cols);
    x.set(normal(cols, 1).map((v) => (v > 0 ? 1e4 : -1e4) + v), 0); // ties near ±1e4 share the mass
    x.set(uniform(cols, 2, -1000, 1000), cols);
    x.fill(-1e30, 2 * cols); // all "masked" by a huge negative: must come out uniform, not NaN
    const dy = normal(rows * cols, 3);
    const { y, dx } = await run(rt, x, dy, rows, cols, {});
    expectFinite(y, 'extreme forward');
    expectFinite(dx, 'extreme backward');
    // Inputs are exact f32 and the max subtraction is exact for nearby values, so the same tolerances hold.
    check(y, dx, x, dy, rows, cols, {}, 'extreme');
    expectClose(y.subarray(2 * cols), new Float64Array(cols).fill(1 / cols), FWD, 'row of -1e30 is uniform');
  });

  gpuTest('large-magnitude scaled logits (~±1e3 after scale) stay finite and causal', async ({ rt }) => {
    const T = 40;
    const x = normal(T * T, 11, 1e4);
    const dy = normal(T * T, 12);
    const options = { causalT: T, scale: 0.125 };
    const { y, dx } = await run(rt, x, dy, T, T, options);
    expectFinite(y, 'forward');
    expectFinite(dx, 'backward');
    // s·x is rounded to f32 on both sides of the max subtraction: |s·x| ~ 1e3 carries ~6e-5 absolute error,
    // which exp turns into that much relative error of each probability.
    check(y, dx, x, dy, T, T, options, 'scaled ±1e3', { atol: 1e-6, rtol: 2e-4 }, { atol: 1e-4, rtol: 2e-4 });
  });

  gpuTest('backward accumulates into an existing gradient', async ({ rt }) => {
    const [rows, cols] = [6, 19];
    const options = { causalT: 3, scale: 0.3, accumulate: true };
    const yv = Float32Array.from(ref.softmaxForward(normal(rows * cols, 31), rows, cols, options));
    const dy = normal(rows * cols, 32);
    const prior = normal(rows * cols, 33);
    const out = rt.upload(yv, [rows, cols], 'y');
    const dout = rt.upload(dy, [rows, cols], 'dy');
    const dinp = rt.upload(prior, [rows, cols], 'dx');
    const step = rt.step('softmax accumulate');
    softmaxBackward(step, out, dout, dinp, rows, cols, options);
    const dx = step.read(dinp);
    await step.submit();
    const expected = ref.softmaxBackward(yv, dy, rows, cols, options).map((g, i) => g + prior[i]);
    expectClose(await dx, expected, BWD, 'accumulated softmax backward');
    rt.free(out, dout, dinp);
  });

  gpuTest('bad shapes and options are rejected before anything runs', async ({ rt }) => {
    const a = rt.tensor([4, 6], 'a');
    const b = rt.tensor([4, 5], 'b');
    const step = rt.step('bad');
    expect(() => softmaxForward(step, a, b, 4, 6)).toThrow(/softmax_forward: b \(4×6\) has 20 elements, expected 24/);
    expect(() => softmaxForward(step, a, a, 4, 6, { causalT: 3 })).toThrow(/softmax_forward: rows=4 is not a multiple of causalT=3/);
    expect(() => softmaxBackward(step, a, a, b, 4, 6)).toThrow(/softmax_backward: b/);
    expect(() => softmaxForward(step, a, a, 24, 0)).toThrow(/softmax_forward: bad shape/);
    expect(() => softmaxForward(step, a, a, 4, 6, { scale: NaN })).toThrow(/scale must be finite/);
    expect(step.dispatchCount).toBe(0);
    rt.free(a, b);
  });
});
