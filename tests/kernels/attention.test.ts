import { describe, expect } from 'vitest';
import { attentionBackward, attentionForward, type AttentionDims } from '../../src/kernels/attention';
import * as ref from '../../src/reference/attention';
import type { GpuRuntime } from '../../src/gpu';
import { gpuTest } from '../helpers/gpu';
import { normal } from '../helpers/random';
import { expectClose, expectFinite, type Tolerance } from '../helpers/tolerance';

// With unit-normal q, k, v the scaled scores are O(1); each is an f32 dot of HS ≤ 128 terms and the online
// softmax rescales add a few ulp, so out and lse land within ~1e-6 of float64 (measured worst: 8e-7 on out, 9e-7
// on lse with |lse| ≲ 6). 5e-6 absolute + 1e-5 relative is ~5× that.
const OUT: Tolerance = { atol: 5e-6, rtol: 1e-5 };
// dqkv sums up to T terms P·(dP − D) where the difference cancels (each loses ~|dP|·6e-8), then scales by |k| or
// |q| ~ 1–3: measured worst 2e-6 with |dqkv| ≲ 5, so 2e-5 absolute + 1e-4 relative leaves ~10× margin.
const GRAD: Tolerance = { atol: 2e-5, rtol: 1e-4 };

interface Result {
  out: Float32Array;
  lse: Float32Array;
  dqkv: Float32Array;
}

async function run(rt: GpuRuntime, x: Float32Array, dy: Float32Array, dims: AttentionDims): Promise<Result> {
  const { B, T, C, NH } = dims;
  const qkv = rt.upload(x, [B, T, 3 * C], 'qkv');
  const dout = rt.upload(dy, [B, T, C], 'dout');
  const out = rt.tensor([B, T, C], 'out');
  const lse = rt.tensor([B, NH, T], 'lse');
  const dqkv = rt.tensor([B, T, 3 * C], 'dqkv');
  const step = rt.step('attention');
  attentionForward(step, qkv, out, lse, dims);
  attentionBackward(step, qkv, out, dout, lse, dqkv, dims);
  const reads = [step.read(out), step.read(lse), step.read(dqkv)];
  await step.submit();
  rt.free(qkv, dout, out, lse, dqkv);
  const [o, l, d] = await Promise.all(reads);
  return { out: o, lse: l, dqkv: d };
}

function check(got: Result, x: Float32Array, dy: Float32Array, dims: AttentionDims, what: string, out = OUT, grad = GRAD) {
  const expected = ref.attentionForward(x, dims);
  expectClose(got.out, expected.out, out, `${what} out`);
  expectClose(got.lse, expected.lse, out, `${what} lse`);
  expectClose(got.dqkv, ref.attentionBackward(x, expected.att, dy, dims), grad, `${what} dqkv`);
}

describe('attention', () => {
  // (B,T,C,NH): single token; ragged everything; T just past the 32/64-row tiles; aligned 64; HS=24 (not a power
  // of 2) across two query blocks; HS=64 (32-row tiles) over two blocks; HS=128 (4-row K/V tiles, 3-row dkv
  // query tiles); HS=5 (odd); T=70 just past the 64-query block.
  const shapes: [number, number, number, number][] = [
    [1, 1, 4, 1],
    [2, 7, 12, 3],
    [1, 33, 32, 2],
    [2, 64, 64, 4],
    [1, 65, 48, 2],
    [1, 128, 128, 2],
    [1, 37, 256, 2],
    [2, 19, 15, 3],
    [1, 70, 4, 1],
  ];
  for (const [B, T, C, NH] of shapes) {
    gpuTest(`forward (out, lse) and backward (dqkv) match the float64 reference, B=${B} T=${T} C=${C} NH=${NH}`, async ({ rt }) => {
      const dims = { B, T, C, NH };
      const x = normal(B * T * 3 * C, B * 1000 + T * 10 + C);
      const dy = normal(B * T * C, T + C);
      const got = await run(rt, x, dy, dims);
      check(got, x, dy, dims, `(${B},${T},${C},${NH})`);
    });
  }

  gpuTest('large-magnitude scores (scaled q·k ~ ±1e3) stay finite and accurate', async ({ rt }) => {
    const dims = { B: 1, T: 45, C: 32, NH: 2 };
    // q, k with std 32: scale·q·k has std 32² = 1024 (HS=16). v stays unit-scale.
    const x = normal(45 * 96, 5).map((v, i) => (i % 96 < 64 ? 32 * v : v));
    const dy = normal(45 * 32, 6);
    const got = await run(rt, x, dy, dims);
    expectFinite(got.out, 'out');
    expectFinite(got.lse, 'lse');
    expectFinite(got.dqkv, 'dqkv');
    // Scores ~1e3 carry f32 rounding ~1e3·HS·6e-8 ≈ 1e-3 absolute; the softmax is then nearly one-hot, so out
    // stays within ~1e-5 (measured) and lse (|lse| ~ 1e3) within ~4e-4 = 4e-7 relative; dq/dk are scaled by
    // |k|, |q| ~ 32 (measured worst 2e-4 with |dqkv| ≲ 8). Tolerances are ~10× the measured errors.
    check(got, x, dy, dims, 'large scores', { atol: 1e-4, rtol: 1e-5 }, { atol: 2e-3, rtol: 1e-3 });
  });

  gpuTest('causal (later tokens leave earlier outputs alone) and deterministic (reruns are bitwise equal)', async ({ rt }) => {
    const dims = { B: 1, T: 20, C: 32, NH: 2 };
    const x = normal(20 * 96, 8);
    const dy = normal(20 * 32, 9);
    const a = await run(rt, x, dy, dims);
    const again = await run(rt, x, dy, dims);
    expect(again.dqkv).toEqual(a.dqkv);
    const y = x.slice();
    for (let i = 10 * 96; i < 20 * 96; i++) y[i] += 3;
    const b = await run(rt, y, dy, dims);
    expect(b.out.subarray(0, 10 * 32)).toEqual(a.out.subarray(0, 10 * 32));
  });

  gpuTest('bad shapes are rejected before anything runs', async ({ rt }) => {
    const qkv = rt.tensor([1, 4, 24], 'qkv');
    const out = rt.tensor([1, 4, 8], 'out');
    const lse = rt.tensor([1, 2, 4], 'lse');
    const step = rt.step('bad');
    const dims = { B: 1, T: 4, C: 8, NH: 2 };
    expect(() => attentionForward(step, qkv, out, lse, { ...dims, NH: 3 })).toThrow(/attention_forward: C=8 is not divisible by NH=3/);
    expect(() => attentionForward(step, qkv, out, lse, { ...dims, T: 5 })).toThrow(/attention_forward: qkv \(qkv \(B,T,3C\)\) has 96 elements, expected 120/);
    expect(() => attentionForward(step, qkv, qkv, lse, dims)).toThrow(/attention_forward: qkv \(out \(B,T,C\)\)/);
    expect(() => attentionForward(step, qkv, out, out, dims)).toThrow(/attention_forward: out \(lse \(B,NH,T\)\) has 32 elements, expected 8/);
    expect(() => attentionBackward(step, qkv, out, out, lse, out, dims)).toThrow(/attention_backward: out \(dqkv \(B,T,3C\)\)/);
    expect(() => attentionForward(step, qkv, out, lse, { B: 1, T: 4, C: 258, NH: 2 })).toThrow(/head size C\/NH = 129 exceeds the supported maximum 128/);
    expect(() => attentionForward(step, qkv, out, lse, { ...dims, B: 0 })).toThrow(/B must be a positive integer/);
    expect(step.dispatchCount).toBe(0);
    rt.free(qkv, out, lse);
  });
});
