import { describe, expect, test } from 'vitest';
import { mix32, sampleDistribution, sampleForward, sampleHash, sampleKey, sampleUniform } from '../../src/reference/sample';
import { normal } from '../helpers/random';

// An independent lowbias32 in BigInt arithmetic (mod 2³²), to check the Math.imul version the kernel mirrors.
function mix32Big(x0: number): number {
  const M = 0xffffffffn;
  let x = BigInt(x0 >>> 0);
  x ^= x >> 16n;
  x = (x * 0x7feb352dn) & M;
  x ^= x >> 15n;
  x = (x * 0x846ca68bn) & M;
  x ^= x >> 16n;
  return Number(x);
}

function logSoftmax(z: ArrayLike<number>, tau: number, i: number): number {
  const M = Math.max(...Array.from(z));
  let S = 0;
  for (let j = 0; j < z.length; j++) S += Math.exp((z[j] - M) / tau);
  return (z[i] - M) / tau - Math.log(S);
}

describe('reference sampling', () => {
  test('the RNG is lowbias32 with wrapping u32 arithmetic, and 24-bit uniform in [0,1)', () => {
    for (const x of [0, 1, 2, 0x7fffffff, 0x80000000, 0xdeadbeef, 0xffffffff, 123456789]) expect(mix32(x)).toBe(mix32Big(x));
    expect(sampleHash(1, 2, 3)).toBe(mix32Big(mix32Big(mix32Big((1 ^ 0x9e3779b9) >>> 0) ^ 2) ^ 3));
    const n = 20000;
    const hist = new Array(10).fill(0);
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const u = sampleUniform(7, i % 100, Math.floor(i / 100));
      if (!(u >= 0 && u < 1 && Number.isInteger(u * 16777216))) bad++;
      hist[Math.floor(u * 10)]++;
    }
    expect(bad, 'draws outside [0,1) or not on the 2⁻²⁴ grid').toBe(0);
    const chi2 = hist.reduce((s, c) => s + (c - n / 10) ** 2 / (n / 10), 0);
    expect(chi2, `uniform histogram ${hist}`).toBeLessThan(33.7); // χ²(9) at 1 − 1e-4
  });

  test('sampleKey orders f32 values as numbers (−0 just below +0)', () => {
    const values = [-Infinity, -3e38, -1, -1e-30, -0, 0, 1e-45, 1e-30, 0.5, 1, 2, 3e38, Infinity];
    for (let i = 1; i < values.length; i++) expect(sampleKey(values[i]) > sampleKey(values[i - 1]), `${values[i - 1]} < ${values[i]}`).toBe(true);
  });

  test('greedy takes the first maximum; its logprob is log_softmax at τ = 1', () => {
    const z = [0.5, 2, -1, 2, 1];
    const r = sampleForward(z, 5, 0.99, { temperature: 0, topK: 1 });
    expect(r.id).toBe(1);
    expect(r.logprob).toBeCloseTo(logSoftmax(z, 1, 1), 12);
  });

  test('top-k keeps the k best, ties by lower index; top-p keeps the shortest prefix reaching p', () => {
    const z = [1, 3, 2, 3, 0, 2, 1];
    expect(Array.from(sampleForward(z, 7, 0.5, { temperature: 1, topK: 3 }).kept)).toEqual([0, 1, 1, 1, 0, 0, 0]);
    expect(Array.from(sampleForward(z, 7, 0.5, { temperature: 1, topK: 4 }).kept)).toEqual([0, 1, 1, 1, 0, 1, 0]);
    const p = sampleDistribution(z, 7, { temperature: 1 });
    // order: 1, 3, 2, 5, 0, 6, 4 — the prefix {1, 3} has mass p1 + p3; just above it needs one more token (2)
    const two = p[1] + p[3];
    expect(Array.from(sampleForward(z, 7, 0.5, { temperature: 1, topP: two - 1e-9 }).kept)).toEqual([0, 1, 0, 1, 0, 0, 0]);
    expect(Array.from(sampleForward(z, 7, 0.5, { temperature: 1, topP: two + 1e-9 }).kept)).toEqual([0, 1, 1, 1, 0, 0, 0]);
    // top-p applies within top-k, relative to the top-k mass
    const q = sampleDistribution(z, 7, { temperature: 1, topK: 2 });
    expect(q[1]).toBeCloseTo(0.5, 12);
    expect(Array.from(sampleForward(z, 7, 0.5, { temperature: 1, topK: 2, topP: 0.5 }).kept)).toEqual([0, 1, 0, 0, 0, 0, 0]);
    expect(Array.from(sampleForward(z, 7, 0.5, { temperature: 1, topK: 2, topP: 0.51 }).kept)).toEqual([0, 1, 0, 1, 0, 0, 0]);
  });

  test('the draw inverts the CDF of the kept tokens in index order; logprob ignores truncation', () => {
    const z = [0, Math.log(2), Math.log(3), -50];
    // probabilities 1/6, 2/6, 3/6 (and ~0): u·K below 1/6 → 0, below 3/6 → 1, else 2
    expect(sampleForward(z, 4, 0, { temperature: 1 }).id).toBe(0);
    expect(sampleForward(z, 4, 0.16, { temperature: 1 }).id).toBe(0);
    expect(sampleForward(z, 4, 0.17, { temperature: 1 }).id).toBe(1);
    expect(sampleForward(z, 4, 0.49, { temperature: 1 }).id).toBe(1);
    expect(sampleForward(z, 4, 0.51, { temperature: 1 }).id).toBe(2);
    expect(sampleForward(z, 4, 1 - 2 ** -24, { temperature: 1 }).id).toBe(2);
    const r = sampleForward(z, 4, 0.1, { temperature: 0.5, topK: 2 }); // keeps 2 and 1: 4/13 and 9/13 at τ = 0.5
    expect(r.id).toBe(1);
    expect(r.logprob).toBeCloseTo(logSoftmax(z, 0.5, 1), 12);
  });

  test('seeded draws follow the truncated softmax (χ² over 20000 draws)', () => {
    const V = 12;
    const z = normal(V, 4, 1.5);
    for (const opts of [{ temperature: 1 }, { temperature: 0.7, topK: 5 }, { temperature: 1.3, topP: 0.8 }]) {
      const probs = sampleDistribution(z, V, opts);
      const counts = new Array(V).fill(0);
      const n = 20000;
      for (let i = 0; i < n; i++) counts[sampleForward(z, V, sampleUniform(3, i, 17), opts).id]++;
      let chi2 = 0;
      for (let i = 0; i < V; i++) {
        if (probs[i] === 0) expect(counts[i]).toBe(0);
        else chi2 += (counts[i] - n * probs[i]) ** 2 / (n * probs[i]);
      }
      expect(chi2, `${JSON.stringify(opts)} counts ${counts}`).toBeLessThan(37.4); // χ²(11) at 1 − 1e-4
    }
  });
});
