import { describe, expect, test } from 'vitest';
import {
  gptForward,
  gptLoss,
  gptLossAndGrads,
  referenceParameterShapes,
  type GptDropout,
  type GptShape,
} from '../../src/reference/gpt';
import { FD_TOLERANCE } from '../helpers/finite-diff';
import { TINY_GPT, float64Weights, randomGptWeights } from '../helpers/gpt-fixtures';
import { integers, rng } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

const shape = TINY_GPT; // V=11, ctx 8, 2 layers, 2 heads, C=8
const [B, T] = [2, 5];
const V = shape.vocabSize;
const tokens = integers(B * T, V, 1);
const targets = integers(B * T, V, 2);

/** Independent of the model's loss path: Σ w·(logsumexp − logit[target]) / Σ w from the logits. */
function lossFromLogits(logits: ArrayLike<number>, tgt: ArrayLike<number>, w: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let n = 0; n < w.length; n++) {
    if (w[n] === 0) continue;
    let max = -Infinity;
    for (let i = 0; i < V; i++) max = Math.max(max, logits[n * V + i]);
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp(logits[n * V + i] - max);
    num += w[n] * (max + Math.log(sum) - logits[n * V + tgt[n]]);
    den += w[n];
  }
  return num / den;
}

/**
 * Checks the analytic gradient of every parameter tensor against central differences of gptLoss: every entry of
 * tensors with at most `full` entries, `subset` seeded random entries of the larger ones. With `dropout`, both use
 * that key's masks (fixed, so the loss is a smooth function of the weights).
 */
function expectAllGradients(
  s: GptShape,
  weights: Record<string, Float64Array>,
  tok: ArrayLike<number>,
  tgt: ArrayLike<number>,
  b: number,
  t: number,
  lossWeights: ArrayLike<number> | undefined,
  full: number,
  subset: number,
  seed: number,
  dropout?: GptDropout,
): void {
  const { grads } = gptLossAndGrads(s, weights, tok, tgt, b, t, lossWeights, dropout);
  const loss = () => gptLoss(s, weights, tok, tgt, b, t, lossWeights, dropout);
  const r = rng(seed);
  const h = 1e-5;
  for (const p of referenceParameterShapes(s)) {
    const x = weights[p.name];
    const g = grads[p.name];
    expect(g.length, `${p.name} gradient length`).toBe(x.length);
    const idx = x.length <= full ? [...x.keys()] : Array.from({ length: subset }, () => Math.floor(r() * x.length));
    const analytic = idx.map((i) => g[i]);
    const numeric = idx.map((i) => {
      const saved = x[i];
      x[i] = saved + h;
      const up = loss();
      x[i] = saved - h;
      const down = loss();
      x[i] = saved;
      return (up - down) / (2 * h);
    });
    expectClose(analytic, numeric, FD_TOLERANCE, `d${p.name} (entries ${idx.length <= 8 ? idx : `${idx.slice(0, 8)}…`}) vs finite differences`);
  }
}

describe('reference GPT', () => {
  test('parameter names, shapes and order are GPT-2’s', () => {
    const names = referenceParameterShapes({ ...shape, nLayer: 1 });
    expect(names).toEqual([
      { name: 'wte', shape: [11, 8] },
      { name: 'wpe', shape: [8, 8] },
      { name: 'h.0.ln_1.weight', shape: [8] },
      { name: 'h.0.ln_1.bias', shape: [8] },
      { name: 'h.0.attn.c_attn.weight', shape: [8, 24] },
      { name: 'h.0.attn.c_attn.bias', shape: [24] },
      { name: 'h.0.attn.c_proj.weight', shape: [8, 8] },
      { name: 'h.0.attn.c_proj.bias', shape: [8] },
      { name: 'h.0.ln_2.weight', shape: [8] },
      { name: 'h.0.ln_2.bias', shape: [8] },
      { name: 'h.0.mlp.c_fc.weight', shape: [8, 32] },
      { name: 'h.0.mlp.c_fc.bias', shape: [32] },
      { name: 'h.0.mlp.c_proj.weight', shape: [32, 8] },
      { name: 'h.0.mlp.c_proj.bias', shape: [8] },
      { name: 'ln_f.weight', shape: [8] },
      { name: 'ln_f.bias', shape: [8] },
    ]);
    const two = referenceParameterShapes(shape).map((p) => p.name);
    expect(two.length).toBe(2 + 12 * 2 + 2);
    expect(two.slice(14, 26)).toEqual(names.slice(2, 14).map((p) => p.name.replace('h.0.', 'h.1.')));
  });

  test('loss at init with tiny weights is ≈ ln V', () => {
    const w = randomGptWeights(shape, 3, 1e-4);
    const { loss } = gptLossAndGrads(shape, w, tokens, targets, B, T);
    // logits are ~√C·1e-4 ≈ 3e-4, so the softmax is uniform to ~1e-3
    expect(Math.abs(loss - Math.log(V))).toBeLessThan(1e-3);
  });

  test('loss and logits agree with gptForward, gptLoss and a plain cross-entropy of the logits', () => {
    const w = randomGptWeights(shape, 4);
    const res = gptLossAndGrads(shape, w, tokens, targets, B, T);
    const logits = gptForward(shape, w, tokens, B, T);
    expect(logits.length).toBe(B * T * V);
    expect([...res.logits]).toEqual([...logits]);
    expect(gptLoss(shape, w, tokens, targets, B, T)).toBe(res.loss);
    expect(res.loss).toBeCloseTo(lossFromLogits(logits, targets, new Float64Array(B * T).fill(1)), 12);
    // Not trivially uniform: the seeded weights (std 0.3) give a real, finite loss away from ln V.
    expect(Number.isFinite(res.loss)).toBe(true);
    expect(Math.abs(res.loss - Math.log(V))).toBeGreaterThan(0.05);
    expect(Object.keys(res.grads)).toEqual(referenceParameterShapes(shape).map((p) => p.name));
  });

  // All entries of tensors ≤ 100 (wte, wpe, every LayerNorm and bias, c_attn.c_proj.weight): 648 of the 1,912
  // parameters, including all of the tied wte; 24 seeded random entries of each larger matrix.
  test('the gradient of every parameter matches central finite differences (B=2, T=5)', () => {
    const w = float64Weights(randomGptWeights(shape, 5));
    expectAllGradients(shape, w, tokens, targets, B, T, undefined, 100, 24, 0);
  });

  test('with fractional and zero loss weights the gradients still match finite differences', () => {
    const w = float64Weights(randomGptWeights(shape, 6));
    const lw = [0, 0, 1, 0.5, 2, 0, 3, 0, 1, 0.25];
    // every entry of tensors ≤ 32, 20 seeded entries of the larger ones
    expectAllGradients(shape, w, tokens, targets, B, T, lw, 32, 20, 7);
  });

  test('with dropout at a fixed key the gradients still match finite differences; p = 0 is no dropout', () => {
    const w = float64Weights(randomGptWeights(shape, 18));
    // p = 0.25 drops ~20 of the 80 entries at each of the 5 sites (embeddings, 2 per block).
    const dropout = { p: 0.25, seed: 0x9e3779b9, step: 3 };
    const plain = gptLoss(shape, w, tokens, targets, B, T);
    const dropped = gptLoss(shape, w, tokens, targets, B, T, undefined, dropout);
    expect(Math.abs(dropped - plain), 'dropout changes the loss').toBeGreaterThan(1e-3);
    expect(gptLoss(shape, w, tokens, targets, B, T, undefined, { ...dropout, step: 4 }), 'another step, other masks').not.toBe(dropped);
    expect(gptLoss(shape, w, tokens, targets, B, T, undefined, { ...dropout, p: 0 })).toBe(plain);
    // every entry of tensors ≤ 32, 20 seeded entries of the larger ones
    expectAllGradients(shape, w, tokens, targets, B, T, undefined, 32, 20, 19, dropout);
  });

  test('loss weights: masking changes the loss; zero-weight positions have no influence; scale does not matter', () => {
    const w = randomGptWeights(shape, 8);
    const lw = Float64Array.of(0, 0, 1, 1, 1, 0, 1, 1, 1, 0); // prompt tokens and padding masked
    const full = gptLossAndGrads(shape, w, tokens, targets, B, T);
    const masked = gptLossAndGrads(shape, w, tokens, targets, B, T, lw);
    expect(masked.loss).not.toBeCloseTo(full.loss, 3);
    expect(masked.loss).toBeCloseTo(lossFromLogits(masked.logits, targets, lw), 12);
    expect(masked.grads['h.0.mlp.c_fc.weight']).not.toEqual(full.grads['h.0.mlp.c_fc.weight']);

    // Changing the targets of masked positions (even to ids that are not tokens: they are never read) changes nothing.
    const other = Uint32Array.from(targets);
    for (const [i, d] of [[0, 3], [1, 7], [5, 1]]) other[i] = (other[i] + d) % V;
    other[9] = 999;
    const perturbed = gptLossAndGrads(shape, w, tokens, other, B, T, lw);
    expect(perturbed.loss).toBe(masked.loss);
    for (const name of Object.keys(masked.grads)) expect([...perturbed.grads[name]], name).toEqual([...masked.grads[name]]);
    // ...while changing a weighted target does.
    other[2] = (other[2] + 1) % V;
    expect(gptLoss(shape, w, tokens, other, B, T, lw)).not.toBe(masked.loss);

    // The weighted mean is invariant to scaling every weight.
    const scaled = gptLossAndGrads(shape, w, tokens, targets, B, T, lw.map((x) => 3 * x));
    expect(scaled.loss).toBeCloseTo(masked.loss, 12);
    for (const name of Object.keys(masked.grads)) {
      expectClose(scaled.grads[name], masked.grads[name], { atol: 1e-14, rtol: 1e-12 }, `${name} with weights ×3`);
    }
  });

  test('is causal: changing token t leaves the logits at positions < t (and other sequences) unchanged', () => {
    const w = randomGptWeights(shape, 9);
    const before = gptForward(shape, w, tokens, B, T);
    for (const t of [0, 2, 4]) {
      const changed = Uint32Array.from(tokens);
      changed[t] = (changed[t] + 1) % V; // sequence 0, position t
      const after = gptForward(shape, w, changed, B, T);
      expect([...after.subarray(0, t * V)], `positions < ${t}`).toEqual([...before.subarray(0, t * V)]);
      expect([...after.subarray(T * V)], 'sequence 1').toEqual([...before.subarray(T * V)]);
      expect([...after.subarray(t * V, (t + 1) * V)], `position ${t}`).not.toEqual([...before.subarray(t * V, (t + 1) * V)]);
    }
  });

  test('T < contextLength: prefixes give the same logits, unused wpe rows get zero gradient, gradients match FD', () => {
    const w = float64Weights(randomGptWeights(shape, 10));
    const [b, t] = [2, 3];
    const tok = Uint32Array.from([...tokens.subarray(0, 3), ...tokens.subarray(5, 8)]);
    const tgt = Uint32Array.from([...targets.subarray(0, 3), ...targets.subarray(5, 8)]);
    const short = gptForward(shape, w, tok, b, t);
    const long = gptForward(shape, w, tokens, B, T);
    for (let s = 0; s < b; s++) {
      expectClose(short.subarray(s * t * V, (s + 1) * t * V), long.subarray(s * T * V, (s * T + t) * V), { atol: 1e-14, rtol: 1e-12 }, `sequence ${s} prefix`);
    }
    const { grads } = gptLossAndGrads(shape, w, tok, tgt, b, t);
    expect(grads.wpe.length).toBe(shape.contextLength * shape.dModel);
    expect([...grads.wpe.subarray(t * shape.dModel)].every((g) => g === 0)).toBe(true);
    expect([...grads.wpe.subarray(0, t * shape.dModel)].some((g) => g !== 0)).toBe(true);
    expectAllGradients(shape, w, tok, tgt, b, t, undefined, 32, 20, 11);
  });

  test('T = contextLength and B = 1 work (one layer, four heads); gradients match FD', () => {
    const s: GptShape = { vocabSize: 7, contextLength: 6, nLayer: 1, nHead: 4, dModel: 8 };
    const w = float64Weights(randomGptWeights(s, 12));
    expectAllGradients(s, w, integers(6, 7, 13), integers(6, 7, 14), 1, 6, undefined, 32, 20, 15);
  });

  test('rejects bad inputs with clear errors', () => {
    const w = randomGptWeights(shape, 17);
    const bad = (x: number) => Uint32Array.from(tokens).map((v, i) => (i === 3 ? x : v));
    expect(() => gptForward(shape, w, bad(11), B, T)).toThrow(/tokens\[3\] = 11 is not a token id in \[0, 11\)/);
    expect(() => gptForward(shape, w, [...tokens].map((v, i) => (i === 1 ? 0.5 : v)), B, T)).toThrow(/tokens\[1\] = 0.5/);
    expect(() => gptForward(shape, w, tokens, 1, 10)).toThrow(/T = 10 exceeds contextLength 8/);
    expect(() => gptForward(shape, w, tokens, 3, 5)).toThrow(/tokens has 10 elements, expected B·T = 3·5 = 15/);
    expect(() => gptForward(shape, w, tokens, 0, 5)).toThrow(/B must be a positive integer/);
    expect(() => gptForward(shape, { ...w, 'h.1.mlp.c_fc.bias': new Float32Array(31) }, tokens, B, T)).toThrow(
      /weight h\.1\.mlp\.c_fc\.bias has 31 elements, expected \[32\] = 32/,
    );
    const noWpe = { ...w };
    delete noWpe.wpe;
    expect(() => gptForward(shape, noWpe, tokens, B, T)).toThrow(/missing weight wpe \[8,8\]/);
    expect(() => gptForward({ ...shape, nHead: 3 }, w, tokens, B, T)).toThrow(/dModel 8 is not divisible by nHead 3/);
    expect(() => gptForward({ ...shape, nLayer: 0 }, w, tokens, B, T)).toThrow(/nLayer must be a positive integer/);
    expect(() => gptLoss(shape, w, tokens, bad(11), B, T)).toThrow(/targets\[3\] = 11/);
    expect(() => gptLoss(shape, w, tokens, targets, B, T, new Float64Array(10))).toThrow(/lossWeights sum to 0/);
    expect(() => gptLoss(shape, w, tokens, targets, B, T, new Float64Array(9).fill(1))).toThrow(/lossWeights has 9 elements/);
    expect(() => gptLoss(shape, w, tokens, targets, B, T, new Float64Array(10).fill(NaN))).toThrow(/lossWeights\[0\] = NaN/);
    expect(() => gptLossAndGrads(shape, w, tokens, targets.subarray(1), B, T)).toThrow(/targets has 9 elements/);
    expect(() => gptForward(shape, w, tokens, B, T, { p: 1, seed: 0, step: 0 })).toThrow(/dropout\.p must be in \[0, 1\), got 1/);
    expect(() => gptLoss(shape, w, tokens, targets, B, T, undefined, { p: 0.1, seed: 0, step: -1 })).toThrow(/dropout\.step must be an integer in \[0, 2³²\), got -1/);
  });
});
