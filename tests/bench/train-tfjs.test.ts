// The TF.js GPT of the training benchmark (src/bench/tfjs-gpt.ts) is the same model as ours: its loss, logits and
// gradients equal the float64 reference GPT's on nano with the same weights, and its AdamW step equals the float64
// reference AdamW (clip, decoupled decay on the 2-D weights only, bias correction at t = 1 and 2). TF.js runs on
// its CPU backend here (built into @tensorflow/tfjs), so this needs no GPU.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { TfGpt } from '../../src/bench/tfjs-gpt';
import { makeConfig, parameterShapes } from '../../src/model/config';
import { adamwStep } from '../../src/reference/adamw';
import { gptForward, gptLoss, gptLossAndGrads } from '../../src/reference/gpt';
import { gradNorm } from '../../src/reference/gradnorm';
import { randomGptWeights } from '../helpers/gpt-fixtures';
import { integers, uniform } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

const nano = makeConfig('nano'); // V 64, ctx 32, 2 layers, 2 heads, d 32, dropout 0
// std 0.3 weights (not GPT-2's 0.02) so every layer moves the loss: a wrong mask, scale or GELU form shows.
const weights = randomGptWeights(nano, 7, 0.3);
const B = 2;
const T = 13; // < contextLength: only wpe's first T rows are used
const batch = {
  B,
  T,
  tokens: integers(B * T, nano.vocabSize, 11),
  targets: integers(B * T, nano.vocabSize, 12),
  // Some zeros (SFT-style masking), the rest in (0, 2).
  weights: uniform(B * T, 13, -0.5, 2).map((w) => Math.max(0, w)),
};

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

/**
 * f32 through 2 blocks of ≤128-term dot products against float64. Measured: loss within 1e-8 of the reference
 * (≈5.6), logits (|x| ≤ 6) within 2e-6, gradients (|g| ≤ 0.7) within 7e-7. The tolerances leave ~10× headroom
 * and still catch the mistakes this guards against: LayerNorm eps 1e-12 instead of 1e-5 moves the logits by 5e-4,
 * a wrong 1/√HS scale the loss by 4e-3, a causal mask off by one the loss by 0.24.
 */
const LOSS_TOL = { atol: 1e-5, rtol: 0 };
const LOGIT_TOL = { atol: 2e-5, rtol: 0 };
const GRAD_TOL = { atol: 1e-5, rtol: 0 };

describe('TF.js GPT (bench baseline)', () => {
  test('forward: logits and weighted loss equal the float64 reference GPT on nano', async () => {
    const model = new TfGpt(tf, nano, weights);
    try {
      model.loss(batch).dispose(); // the first call caches the (T,T) causal mask, owned by the model
      const before = tf.memory().numTensors;
      const loss = model.loss(batch);
      const value = (await loss.data())[0];
      loss.dispose();
      expect(tf.memory().numTensors, 'loss() leaks no tensors').toBe(before);
      const expected = gptLoss(nano, weights, batch.tokens, batch.targets, B, T, batch.weights);
      expectClose([value], [expected], LOSS_TOL, 'loss');
      // Unweighted too (default ones).
      const plain = model.loss({ ...batch, weights: undefined });
      expectClose(await plain.data(), [gptLoss(nano, weights, batch.tokens, batch.targets, B, T)], LOSS_TOL, 'unweighted loss');
      plain.dispose();
      expectClose(await model.forward(batch.tokens, B, T), gptForward(nano, weights, batch.tokens, B, T), LOGIT_TOL, 'logits');
    } finally {
      model.dispose();
    }
  });

  test('gradients equal the reference GPT backward for every parameter', async () => {
    const model = new TfGpt(tf, nano, weights);
    try {
      const { loss, grads } = await model.grads(batch);
      const ref = gptLossAndGrads(nano, weights, batch.tokens, batch.targets, B, T, batch.weights);
      expectClose([loss], [ref.loss], LOSS_TOL, 'loss');
      expect(Object.keys(grads)).toEqual(parameterShapes(nano).map((p) => p.name));
      for (const p of parameterShapes(nano)) expectClose(grads[p.name], ref.grads[p.name], GRAD_TOL, `d${p.name}`);
    } finally {
      model.dispose();
    }
  });

  test('two AdamW steps equal the reference: clipping, decay on 2-D weights only, bias correction', async () => {
    // A small clip so clipping is active; eps 1e-4 keeps g/(√v̂+eps) smooth where a gradient is near 0 (at t = 1
    // the update is lr·g/(|g|+eps), whose slope 1/eps would turn f32 noise in a ~1e-8 gradient into a visible step).
    const opts = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-4, weightDecay: 0.1, gradClip: 0.5 };
    const model = new TfGpt(tf, nano, weights, opts);
    const names = parameterShapes(nano).map((p) => p.name);
    const decay = new Set(parameterShapes(nano).filter((p) => p.shape.length >= 2).map((p) => p.name));
    try {
      let w: Record<string, ArrayLike<number>> = weights;
      let m: Record<string, ArrayLike<number>> = Object.fromEntries(names.map((n) => [n, new Float64Array(weights[n].length)]));
      let v = { ...m };
      for (const t of [1, 2]) {
        const ref = gptLossAndGrads(nano, w, batch.tokens, batch.targets, B, T, batch.weights);
        const flat = names.flatMap((n) => Array.from(ref.grads[n]));
        const [norm, scale] = gradNorm(flat, opts.gradClip);
        expect(scale, 'clipping is active').toBeLessThan(1);
        const metrics = await model.trainStep(batch);
        expectClose([metrics.loss], [ref.loss], LOSS_TOL, `step ${t} loss`);
        expectClose([metrics.gradNorm], [norm], { atol: 0, rtol: 1e-4 }, `step ${t} gradient norm`);
        const got = await model.getWeights();
        const next: typeof w = {};
        const nm: typeof m = {};
        const nv: typeof v = {};
        for (const n of names) {
          const cfg = { ...opts, weightDecay: decay.has(n) ? opts.weightDecay : 0 };
          const s = adamwStep(w[n], ref.grads[n], m[n], v[n], t, cfg, scale);
          // |Δw| ≤ lr = 1e-2 per step; 1e-6 is f32 rounding of w plus the f32 gradient's error through the update.
          expectClose(got[n], s.params, { atol: 1e-6, rtol: 1e-5 }, `step ${t} ${n}`);
          // Continue from TF.js's weights (the reference gradient at the point TF.js actually reached).
          next[n] = got[n];
          nm[n] = s.m;
          nv[n] = s.v;
        }
        // The step moved the weights (a no-op optimizer would pass the comparison only with lr = 0).
        expect(Math.abs(got['h.0.mlp.c_fc.weight'][0] - w['h.0.mlp.c_fc.weight'][0])).toBeGreaterThan(1e-4);
        [w, m, v] = [next, nm, nv];
      }
    } finally {
      model.dispose();
    }
  });

  test('dispose frees every tensor, and bad weights are rejected', () => {
    const before = tf.memory().numTensors;
    const model = new TfGpt(tf, nano, weights);
    model.loss(batch).dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => new TfGpt(tf, nano, { ...weights, wte: new Float32Array(3) })).toThrow(/"wte" needs 2048 values/);
  });
});
