import { describe, expect } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { layernormBackward, layernormForward, layernormScratchShape } from '../../src/kernels/layernorm';
import { ROW_VARIANTS, type RowVariant } from '../../src/kernels/rows';
import * as ref from '../../src/reference/layernorm';
import { gpuTest } from '../helpers/gpu';
import { normal } from '../helpers/random';
import { expectClose, type Tolerance } from '../helpers/tolerance';

// Both variants (tree, serial) are held to the same tolerances: a serial sum of C terms has error ~C·ulp in the
// worst case rather than a tree's ~log C·ulp, but at C ≤ 300 both stay well inside these bounds.
// Forward: each output is a few f32 roundings of O(1) terms, and mean/rstd come from f32 sums of C terms, so
// errors are ~1e-6 relative; 1e-5 relative + 1e-5 absolute gives margin (rstd for C = 1 is 1/√eps ≈ 316, hence
// relative).
const FWD: Tolerance = { atol: 1e-5, rtol: 1e-5 };
// dinp subtracts two row means (cancellation) and is scaled by rstd: errors ~√C·ulp·|terms| (measured ≤ 2e-6).
const DINP: Tolerance = { atol: 2e-5, rtol: 1e-5 };
// dweight/dbias sum N products of O(1) terms in f32 (per 32-row chunk, then over chunks): error ~√N·ulp·|sum|,
// measured ≤ 1e-5 for N ≤ 129.
const DPARAM: Tolerance = { atol: 2e-5, rtol: 1e-5 };
// With |mean| = 1000 the saved f32 mean is off by up to ulp(1000)/2 ≈ 3e-5, so every xhat the backward rebuilds
// from it is off by ~3e-5·rstd; dweight sums N such terms (measured ~9e-5 for N = 9).
const DPARAM_OFFSET: Tolerance = { atol: 3e-4, rtol: 1e-5 };

interface Case {
  N: number;
  C: number;
  offset?: number; // added to x: a large |mean| ≫ std tests the two-pass variance
}

async function run(
  rt: GpuRuntime,
  variant: RowVariant,
  { N, C, offset = 0 }: Case,
  seed: number,
  prior?: { dinp: Float32Array; dw: Float32Array; db: Float32Array },
) {
  const x = normal(N * C, seed, 2).map((v) => v + offset);
  const w = normal(C, seed + 1);
  const b = normal(C, seed + 2);
  const dy = normal(N * C, seed + 3);
  const inp = rt.upload(x, [N, C], 'x');
  const weight = rt.upload(w, [C], 'w');
  const bias = rt.upload(b, [C], 'b');
  const dout = rt.upload(dy, [N, C], 'dy');
  const out = rt.tensor([N, C], 'y');
  const mean = rt.tensor([N], 'mean');
  const rstd = rt.tensor([N], 'rstd');
  const dinp = prior ? rt.upload(prior.dinp, [N, C], 'dx') : rt.tensor([N, C], 'dx');
  const dweight = prior ? rt.upload(prior.dw, [C], 'dw') : rt.tensor([C], 'dw');
  const dbias = prior ? rt.upload(prior.db, [C], 'db') : rt.tensor([C], 'db');
  const scratch = rt.tensor(layernormScratchShape(N, C), 'ln scratch');
  const step = rt.step('layernorm');
  layernormForward(step, inp, weight, bias, out, mean, rstd, undefined, { variant });
  layernormBackward(step, dout, inp, weight, mean, rstd, dinp, dweight, dbias, scratch, {
    accumulateInput: !!prior,
    accumulateParams: !!prior,
    variant,
  });
  const reads = [out, mean, rstd, dinp, dweight, dbias].map((t) => step.read(t));
  await step.submit();
  const [y, m, r, dx, dw, db] = await Promise.all(reads);
  rt.free(inp, weight, bias, dout, out, mean, rstd, dinp, dweight, dbias, scratch);
  const f = ref.layernormForward(x, w, b, N, C);
  const g = ref.layernormBackward(dy, x, w, f.mean, f.rstd, N, C);
  return { gpu: { y, m, r, dx, dw, db }, f, g };
}

// Ragged shapes: row counts around the variants' rows per workgroup (8 tree, 64 serial) and the backward's 32-row
// chunk, widths that are not multiples of the tree's 32 threads per row.
const RAGGED: Case[] = [1, 3, 17, 129].flatMap((N) => [5, 33, 100, 257].map((C) => ({ N, C })));
const CASES: Case[] = [
  { N: 1, C: 1 },
  { N: 33, C: 5 }, // one row past a 32-row backward chunk, one past a multiple of 8 forward rows
  { N: 64, C: 64 },
  { N: 9, C: 300, offset: 1000 },
  ...RAGGED,
];

describe.for(ROW_VARIANTS)('layernorm, %s variant', (variant) => {
  for (const c of CASES) {
    gpuTest(`forward and backward match the float64 reference, N=${c.N} C=${c.C}${c.offset ? ` mean ${c.offset}` : ''}`, async ({ rt }) => {
      const { gpu, f, g } = await run(rt, variant, c, c.N * 1000 + c.C);
      expectClose(gpu.y, f.out, FWD, 'layernorm out');
      expectClose(gpu.m, f.mean, { atol: 1e-5, rtol: 1e-6 }, 'layernorm mean');
      expectClose(gpu.r, f.rstd, FWD, 'layernorm rstd');
      expectClose(gpu.dx, g.dinp, DINP, 'layernorm dinp');
      expectClose(gpu.dw, g.dweight, c.offset ? DPARAM_OFFSET : DPARAM, 'layernorm dweight');
      expectClose(gpu.db, g.dbias, DPARAM, 'layernorm dbias');
    });
  }

  gpuTest('backward accumulates into existing dinp, dweight and dbias', async ({ rt }) => {
    const [N, C] = [40, 19];
    const prior = { dinp: normal(N * C, 91), dw: normal(C, 92), db: normal(C, 93) };
    const { gpu, g } = await run(rt, variant, { N, C }, 7, prior);
    expectClose(gpu.dx, g.dinp.map((v, i) => v + prior.dinp[i]), DINP, 'accumulated dinp');
    expectClose(gpu.dw, g.dweight.map((v, i) => v + prior.dw[i]), DPARAM, 'accumulated dweight');
    expectClose(gpu.db, g.dbias.map((v, i) => v + prior.db[i]), DPARAM, 'accumulated dbias');
  });

  gpuTest('outputs are bitwise reproducible (fixed-order reductions)', async ({ rt }) => {
    const a = await run(rt, variant, { N: 70, C: 45 }, 11);
    const b = await run(rt, variant, { N: 70, C: 45 }, 11);
    for (const key of ['y', 'm', 'r', 'dx', 'dw', 'db'] as const) expect(Array.from(b.gpu[key])).toEqual(Array.from(a.gpu[key]));
  });
});

describe('layernorm', () => {
  gpuTest('wrong shapes are rejected before anything runs', async ({ rt }) => {
    const [N, C] = [4, 6];
    const inp = rt.tensor([N, C], 'x');
    const w = rt.tensor([C], 'w');
    const bad = rt.tensor([C + 1], 'w7');
    const out = rt.tensor([N, C], 'y');
    const mean = rt.tensor([N], 'mean');
    const rstd = rt.tensor([N], 'rstd');
    const scratch = rt.tensor(layernormScratchShape(N, C), 'scratch');
    const small = rt.tensor([1, 2, C - 1], 'scratch-small');
    const tok = rt.tensor([N], 'mean-u32', 'u32');
    const step = rt.step('bad');
    expect(() => layernormForward(step, inp, bad, w, out, mean, rstd)).toThrow(/layernorm_forward: w7 \(weight \(C\)\) has 7 elements, expected 6/);
    expect(() => layernormForward(step, inp, w, w, out, rstd, tok)).toThrow(/layernorm_forward: mean-u32 must be f32/);
    expect(() => layernormForward(step, inp, w, w, mean, mean, rstd)).toThrow(/layernorm_forward: mean \(out \(N,C\)\) has 4 elements, expected 24/);
    expect(() => layernormBackward(step, out, inp, w, mean, rstd, out, w, w, small)).toThrow(/layernorm_backward: scratch-small .* expected 12/);
    expect(() => layernormBackward(step, out, inp, w, mean, rstd, out, w, bad, scratch)).toThrow(/layernorm_backward_weight: w7 \(dbias \(C\)\) has 7 elements, expected 6/);
    expect(step.dispatchCount).toBe(1); // only the valid layernorm_backward before the dweight check failed
    rt.free(inp, w, bad, out, mean, rstd, scratch, small, tok);
  });
});
