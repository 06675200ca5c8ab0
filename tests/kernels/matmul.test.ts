import { describe, expect, test } from 'vitest';
import type { GpuRuntime, Step, Tensor } from '../../src/gpu';
import {
  localStorageVariantCache,
  matmul,
  matmulBackward,
  matmulBackwardBias,
  type MatmulVariant,
  matmulVariant,
  matmulVariants,
  memoryVariantCache,
  regblockSupported,
  tuneMatmul,
} from '../../src/kernels/matmul';
import * as ref from '../../src/reference/matmul';
import { gpuTest } from '../helpers/gpu';
import { normal } from '../helpers/random';
import { expectClose, expectFinite, type Tolerance } from '../helpers/tolerance';

// Each output is a K-term f32 dot product of O(1) inputs, so it is O(√K); every add rounds at the size of the
// running sum (u·√K, u = 6e-8) and K of them add up like a random walk: the error grows ~u·K. Measured worst
// abs errors over a whole output: 7e-6 at K = 64, 3.3e-5 at K = 257, 1.2e-4 at K = 1024. atol 1e-5·√K plus
// rtol 1e-5 (another ~1e-5·√K on outputs of size √K) keeps ≥3× margin up to K ≈ 1e3, past every reduction
// tested here, while a wrong or missing term is O(1).
function tolFor(k: number): Tolerance {
  return { atol: 1e-5 * Math.sqrt(k), rtol: 1e-5 };
}

const VARIANTS: readonly MatmulVariant[] = ['regblock', 'tiled'];
/**
 * A test of one forced variant. Where the adapter cannot run it (regblock needs subgroups of 4 or of a multiple of 4
 * dividing its workgroup width; SwiftShader has them, many GPUs have 32), forcing it must throw that reason instead:
 * the test still asserts something on every adapter.
 */
function variantTest(variant: MatmulVariant, name: string, body: (context: { rt: GpuRuntime }) => Promise<void>) {
  gpuTest(name, async ({ rt }) => {
    if (matmulVariants(rt).includes(variant)) return body({ rt });
    await expect(body({ rt })).rejects.toThrow(/needs subgroups/);
  });
}

const TRANSPOSES = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;
// m×k×n: 1, odd sizes, exactly one tile, just past tile and vec4 multiples, and a wide n past 2 tiles; then past
// one regblock workgroup (128×64 of C) in both m and n, with a partial 16×8 thread block, vec4-aligned (every
// dimension a multiple of 4: the VEC paths' edge handling) and not (K tail of 3).
const SHAPES = [
  [1, 1, 1],
  [17, 33, 5],
  [64, 64, 64],
  [127, 257, 96],
  [3, 5, 130],
  [132, 20, 68],
  [133, 7, 70],
] as const;

interface Case {
  m: number;
  k: number;
  n: number;
  batch?: number;
  transA?: boolean;
  transB?: boolean;
  strideB?: number; // 0: one B for every batch
}

interface Inputs {
  a: Float32Array;
  b: Float32Array;
  ta: Tensor;
  tb: Tensor;
}

function inputs(rt: GpuRuntime, c: Case, seed: number): Inputs {
  const batch = c.batch ?? 1;
  const a = normal(batch * c.m * c.k, seed);
  const b = normal((c.strideB === 0 ? 1 : batch) * c.k * c.n, seed + 1);
  return { a, b, ta: rt.upload(a, [a.length], 'a'), tb: rt.upload(b, [b.length], 'b') };
}

function refShape(c: Case): ref.MatmulShape {
  return { m: c.m, k: c.k, n: c.n, batch: c.batch, transA: c.transA, transB: c.transB, strideB: c.strideB };
}

describe('matmul', () => {
  for (const variant of VARIANTS) {
    describe(variant, () => {
      for (const [transA, transB] of TRANSPOSES) {
        variantTest(variant, `forward matches the float64 reference on aligned and ragged shapes, transA=${transA} transB=${transB}`, async ({ rt }) => {
          const step = rt.step(`matmul ${variant}`);
          const runs = SHAPES.map(([m, k, n], s) => {
            const c: Case = { m, k, n, transA, transB };
            const x = inputs(rt, c, 100 * s + 1);
            const out = rt.tensor([m, n], 'out');
            matmul(step, x.ta, x.tb, out, { m, k, n }, { transA, transB, variant });
            return { c, x, out, y: step.read(out) };
          });
          await step.submit();
          for (const { c, x, out, y } of runs) {
            expectClose(await y, ref.matmulForward(x.a, x.b, null, refShape(c)), tolFor(c.k), `${c.m}×${c.k}×${c.n}`);
            rt.free(x.ta, x.tb, out);
          }
        });
      }

      variantTest(variant, 'batched (batch 3): dense strides, and one B broadcast with stride 0', async ({ rt }) => {
        const step = rt.step(`matmul ${variant} batched`);
        const cases: Case[] = [
          { m: 17, k: 12, n: 20, batch: 3 },
          { m: 9, k: 33, n: 7, batch: 3, transB: true },
          { m: 16, k: 8, n: 12, batch: 3, strideB: 0 },
          { m: 5, k: 13, n: 6, batch: 3, strideB: 0, transA: true, transB: true },
        ];
        const runs = cases.map((c, s) => {
          const x = inputs(rt, c, 10 * s + 3);
          const out = rt.tensor([3, c.m, c.n], 'out');
          const strides = c.strideB === 0 ? { b: 0 } : undefined;
          matmul(step, x.ta, x.tb, out, c, { transA: c.transA, transB: c.transB, strides, variant });
          return { c, x, out, y: step.read(out) };
        });
        await step.submit();
        for (const { c, x, out, y } of runs) {
          expectClose(await y, ref.matmulForward(x.a, x.b, null, refShape(c)), tolFor(c.k), JSON.stringify(c));
          rt.free(x.ta, x.tb, out);
        }
      });

      variantTest(variant, 'custom strides: per-batch views into larger buffers', async ({ rt }) => {
        // A's batches sit 100 elements apart, C's 90 apart (gaps stay untouched).
        const [m, k, n, batch] = [6, 7, 9, 2];
        const a = normal(100 * batch, 31);
        const b = normal(batch * k * n, 32);
        const ta = rt.upload(a, [a.length], 'a');
        const tb = rt.upload(b, [b.length], 'b');
        const out = rt.upload(new Float32Array(90 * batch).fill(7), [90 * batch], 'out');
        const step = rt.step('matmul strides');
        matmul(step, ta, tb, out, { m, k, n, batch }, { strides: { a: 100, c: 90 }, variant });
        const y = step.read(out);
        await step.submit();
        const got = await y;
        for (let z = 0; z < batch; z++) {
          const expected = ref.matmulForward(a.slice(100 * z, 100 * z + m * k), b.slice(z * k * n, (z + 1) * k * n), null, { m, k, n });
          expectClose(got.slice(90 * z, 90 * z + m * n), expected, tolFor(k), `batch ${z}`);
          expect([...got.slice(90 * z + m * n, 90 * (z + 1))].every((v) => v === 7), 'gap untouched').toBe(true);
        }
        rt.free(ta, tb, out);
      });

      variantTest(variant, 'bias, and bias + GELU writing the pre-activation', async ({ rt }) => {
        const step = rt.step(`matmul ${variant} epilogues`);
        // One transpose setting (a linear layer's x·Wᵀ) keeps the number of pipelines compiled small.
        const cases: Case[] = [
          { m: 17, k: 33, n: 5, transB: true },
          { m: 64, k: 64, n: 64, transB: true },
          { m: 7, k: 12, n: 130, batch: 2, transB: true },
        ];
        const runs = cases.map((c, s) => {
          const x = inputs(rt, c, 10 * s + 5);
          const bias = normal(c.n, 10 * s + 7);
          const tbias = rt.upload(bias, [c.n], 'bias');
          const size = (c.batch ?? 1) * c.m * c.n;
          const plain = rt.tensor([size], 'out+bias');
          const act = rt.tensor([size], 'gelu');
          const pre = rt.tensor([size], 'pre');
          matmul(step, x.ta, x.tb, plain, c, { transA: c.transA, transB: c.transB, bias: tbias, variant });
          matmul(step, x.ta, x.tb, act, c, { transA: c.transA, transB: c.transB, bias: tbias, gelu: true, preActivation: pre, variant });
          return { c, x, bias, tensors: [tbias, plain, act, pre], reads: [step.read(plain), step.read(act), step.read(pre)] };
        });
        await step.submit();
        for (const { c, x, bias, tensors, reads } of runs) {
          const [plain, act, pre] = await Promise.all(reads);
          const z = ref.matmulForward(x.a, x.b, bias, refShape(c));
          const tol = tolFor(c.k);
          expectClose(plain, z, tol, `bias ${JSON.stringify(c)}`);
          expectClose(pre, z, tol, `pre-activation ${JSON.stringify(c)}`);
          // gelu' ≤ 1.13, so the matmul error passes through at most slightly amplified; tanh/exp add ~1e-6.
          expectClose(act, ref.matmulForward(x.a, x.b, bias, refShape(c), true), { atol: 1.2 * tol.atol + 1e-6, rtol: 1e-5 }, `gelu ${JSON.stringify(c)}`);
          rt.free(x.ta, x.tb, ...tensors);
        }
      });

      variantTest(variant, 'GELU epilogue saturates without NaN for pre-activations near ±1e4', async ({ rt }) => {
        const [m, k, n] = [5, 3, 9];
        const a = normal(m * k, 41);
        const b = normal(k * n, 42);
        const bias = Float32Array.from({ length: n }, (_, j) => (j % 2 ? 1e4 : -1e4) * (j / n));
        const [ta, tb, tbias] = [rt.upload(a, [m, k], 'a'), rt.upload(b, [n, k], 'b'), rt.upload(bias, [n], 'bias')];
        const [out, pre] = [rt.tensor([m, n], 'out'), rt.tensor([m, n], 'pre')];
        const step = rt.step('matmul gelu extremes');
        matmul(step, ta, tb, out, { m, k, n }, { transB: true, bias: tbias, gelu: true, preActivation: pre, variant });
        const y = step.read(out);
        await step.submit();
        const got = await y;
        expectFinite(got, 'gelu(±1e4)');
        // Outputs reach 1e4, where an f32 ulp is ~1e-3: rtol 1e-5 carries the comparison there.
        expectClose(got, ref.matmulForward(a, b, bias, { m, k, n, transB: true }, true), { atol: 1e-4, rtol: 1e-5 }, 'gelu extremes');
        rt.free(ta, tb, tbias, out, pre);
      });

      variantTest(variant, 'accumulate adds A·B to what the output holds', async ({ rt }) => {
        const step = rt.step(`matmul ${variant} accumulate`);
        // The same two settings matmulBackward's accumulating test compiles.
        const cases: Case[] = [
          { m: 17, k: 33, n: 5, transA: true },
          { m: 64, k: 64, n: 64 },
        ];
        const runs = cases.map((c, s) => {
          const x = inputs(rt, c, 10 * s + 11);
          const prior = normal(c.m * c.n, 10 * s + 13);
          const out = rt.upload(prior, [c.m, c.n], 'out');
          matmul(step, x.ta, x.tb, out, c, { transA: c.transA, transB: c.transB, accumulate: true, variant });
          return { c, x, prior, out, y: step.read(out) };
        });
        await step.submit();
        for (const { c, x, prior, out, y } of runs) {
          const expected = ref.matmulForward(x.a, x.b, null, refShape(c)).map((v, i) => v + prior[i]);
          expectClose(await y, expected, tolFor(c.k), `accumulate ${JSON.stringify(c)}`);
          rt.free(x.ta, x.tb, out);
        }
      });

      for (const [transA, transB] of TRANSPOSES) {
        variantTest(variant, `matmulBackward (dA, dB, dBias) matches the reference backward, transA=${transA} transB=${transB}`, async ({ rt }) => {
          const step = rt.step(`matmul ${variant} backward`);
          const cases: Case[] = [
            { m: 17, k: 33, n: 5, transA, transB },
            { m: 20, k: 12, n: 24, batch: 2, transA, transB },
          ];
          const runs = cases.map((c, s) => {
            const x = inputs(rt, c, 10 * s + 17);
            const size = (c.batch ?? 1) * c.m * c.n;
            const dy = normal(size, 10 * s + 19);
            const tdy = rt.upload(dy, [size], 'dOut');
            const dA = rt.tensor([x.a.length], 'dA');
            const dB = rt.tensor([x.b.length], 'dB');
            const dBias = rt.tensor([c.n], 'dBias');
            matmulBackward(step, { dOut: tdy, a: x.ta, b: x.tb, dA, dB, dBias }, c, { transA, transB, variant });
            return { c, x, dy, tensors: [tdy, dA, dB, dBias], reads: [step.read(dA), step.read(dB), step.read(dBias)] };
          });
          await step.submit();
          for (const { c, x, dy, tensors, reads } of runs) {
            const [dA, dB, dBias] = await Promise.all(reads);
            const g = ref.matmulBackward(dy, x.a, x.b, refShape(c));
            const rows = (c.batch ?? 1) * c.m;
            // dA reduces over N, dB over M, dBias over every row.
            expectClose(dA, g.da, tolFor(c.n), `dA ${JSON.stringify(c)}`);
            expectClose(dB, g.db, tolFor(c.m), `dB ${JSON.stringify(c)}`);
            expectClose(dBias, g.dbias, tolFor(rows), `dBias ${JSON.stringify(c)}`);
            rt.free(x.ta, x.tb, ...tensors);
          }
        });
      }

      variantTest(variant, 'matmulBackward accumulates into existing gradients', async ({ rt }) => {
        const c: Case = { m: 9, k: 10, n: 11, transB: true };
        const x = inputs(rt, c, 23);
        const dy = normal(c.m * c.n, 24);
        const priors = [normal(x.a.length, 25), normal(x.b.length, 26), normal(c.n, 27)];
        const tdy = rt.upload(dy, [c.m, c.n], 'dOut');
        const [dA, dB, dBias] = [rt.upload(priors[0], [x.a.length], 'dA'), rt.upload(priors[1], [x.b.length], 'dB'), rt.upload(priors[2], [c.n], 'dBias')];
        const step = rt.step('matmul backward accumulate');
        matmulBackward(step, { dOut: tdy, a: x.ta, b: x.tb, dA, dB, dBias }, c, {
          transB: true,
          accumulateA: true,
          accumulateB: true,
          accumulateBias: true,
          variant,
        });
        const reads = [step.read(dA), step.read(dB), step.read(dBias)];
        await step.submit();
        const g = ref.matmulBackward(dy, x.a, x.b, refShape(c));
        const [ga, gb, gbias] = await Promise.all(reads);
        expectClose(ga, g.da.map((v, i) => v + priors[0][i]), tolFor(c.n), 'dA accumulated');
        expectClose(gb, g.db.map((v, i) => v + priors[1][i]), tolFor(c.m), 'dB accumulated');
        expectClose(gbias, g.dbias.map((v, i) => v + priors[2][i]), tolFor(c.m), 'dBias accumulated');
        rt.free(x.ta, x.tb, tdy, dA, dB, dBias);
      });
    });
  }

  gpuTest('matmulBackwardBias: column sums on ragged shapes, overwritten or accumulated', async ({ rt }) => {
    const step = rt.step('matmul backward bias');
    const runs = [
      [1, 1],
      [17, 33],
      [300, 70],
      [5, 257],
    ].map(([m, n], s) => {
      const dy = normal(m * n, 50 + s);
      const prior = normal(n, 60 + s);
      const tdy = rt.upload(dy, [m, n], 'dOut');
      const fresh = rt.upload(prior, [n], 'dBias');
      const acc = rt.upload(prior, [n], 'dBias acc');
      matmulBackwardBias(step, tdy, fresh, m, n);
      matmulBackwardBias(step, tdy, acc, m, n, true);
      return { m, n, dy, prior, tensors: [tdy, fresh, acc], reads: [step.read(fresh), step.read(acc)] };
    });
    await step.submit();
    for (const { m, n, dy, prior, tensors, reads } of runs) {
      const [fresh, acc] = await Promise.all(reads);
      const expected = ref.matmulBackward(dy, new Float64Array(m), new Float64Array(n), { m, k: 1, n }).dbias;
      expectClose(fresh, expected, tolFor(m), `dbias ${m}×${n}`);
      expectClose(acc, expected.map((v, j) => v + prior[j]), tolFor(m), `dbias accumulated ${m}×${n}`);
      rt.free(...tensors);
    }
  });

  gpuTest('matmulBackwardBias is deterministic (fixed reduction order)', async ({ rt }) => {
    const [m, n] = [513, 40];
    const tdy = rt.upload(normal(m * n, 70, 100), [m, n], 'dOut');
    const [d1, d2] = [rt.tensor([n], 'd1'), rt.tensor([n], 'd2')];
    const step = rt.step('dbias twice');
    matmulBackwardBias(step, tdy, d1, m, n);
    matmulBackwardBias(step, tdy, d2, m, n);
    const [r1, r2] = [step.read(d1), step.read(d2)];
    await step.submit();
    expect([...(await r1)]).toEqual([...(await r2)]);
    rt.free(tdy, d1, d2);
  });

  gpuTest('tuneMatmul picks a variant, caches it per adapter, and matmulVariant returns it', async ({ rt }) => {
    // Untuned (no other test in this file tunes), the default follows the adapter kind.
    expect(matmulVariant(rt)).toBe(rt.adapter.software && regblockSupported(rt) ? 'regblock' : 'tiled');
    // SwiftShader's subgroups (4 lanes) are what regblock is written for.
    if (rt.adapter.software) expect(matmulVariants(rt)).toEqual(VARIANTS);
    const cache = memoryVariantCache();
    const first = await tuneMatmul(rt, cache);
    expect(first.cached).toBe(false);
    expect(matmulVariants(rt)).toContain(first.variant);
    for (const v of matmulVariants(rt)) expect(first.msByVariant[v]).toBeGreaterThan(0);
    const faster = matmulVariants(rt).reduce((best, v) => (first.msByVariant[v] < first.msByVariant[best] ? v : best));
    expect(first.variant).toBe(faster);
    expect(matmulVariant(rt)).toBe(first.variant);
    expect(cache.get(rt.adapter.key)).toContain(first.variant);

    const second = await tuneMatmul(rt, cache);
    expect(second).toEqual({ ...first, cached: true });

    // A cache holding the other choice (say, from an earlier session) wins without timing anything.
    const other = first.variant === 'regblock' ? 'tiled' : 'regblock';
    const seeded = memoryVariantCache();
    seeded.set(rt.adapter.key, other);
    expect((await tuneMatmul(rt, seeded)).variant).toBe(other);
    expect(matmulVariant(rt)).toBe(other);
    await tuneMatmul(rt, cache); // restore the measured choice for this runtime
  });

  test('localStorageVariantCache round-trips (memory fallback without localStorage)', () => {
    const cache = localStorageVariantCache('rlhf-lab-test/');
    cache.set('adapter-x', 'tiled');
    expect(cache.get('adapter-x')).toBe('tiled');
    expect(cache.get('adapter-y')).toBeUndefined();
  });

  gpuTest('shape and option errors are thrown before anything runs', async ({ rt }) => {
    const a = rt.tensor([4, 3], 'a');
    const b = rt.tensor([3, 5], 'b');
    const out = rt.tensor([4, 5], 'out');
    const bias = rt.tensor([4], 'bias');
    const step: Step = rt.step('bad');
    const v = { variant: 'regblock' as const };
    expect(() => matmul(step, a, b, out, { m: 4, k: 3, n: 6 }, v)).toThrow(/matmul_regblock: b \(B, K×N\) has 15 elements, expected 18/);
    expect(() => matmul(step, a, b, out, { m: 4, k: 3, n: 5 }, { ...v, bias })).toThrow(/matmul_regblock: bias \(bias, N\) has 4 elements, expected 5/);
    expect(() => matmul(step, a, b, out, { m: 4, k: 3, n: 5 }, { variant: 'tiled', accumulate: true, gelu: true })).toThrow(
      /matmul_tiled: accumulate is only supported without bias and gelu/,
    );
    expect(() => matmul(step, a, b, out, { m: 4, k: 3, n: 5 }, { ...v, preActivation: out })).toThrow(/only written with gelu/);
    expect(() => matmul(step, a, b, out, { m: 0, k: 3, n: 5 }, v)).toThrow(/m = 0 must be a positive integer/);
    expect(() => matmul(step, a, b, out, { m: 2, k: 3, n: 5, batch: 2 }, { ...v, strides: { c: 0 } })).toThrow(/batches overlap/);
    expect(() => matmul(step, a, b, out, { m: 4, k: 3, n: 5, batch: 2 }, { ...v, strides: { b: 0 } })).toThrow(/needs 24 for its strides/);
    expect(() => matmulBackwardBias(step, out, bias, 4, 5)).toThrow(/matmul_backward_bias: bias \(dBias, N\) has 4 elements, expected 5/);
    expect(step.dispatchCount).toBe(0);
    rt.free(a, b, out, bias);
  });
});
