import { describe, expect } from 'vitest';
import { makeConfig, parameterCount } from '../../src/model/config';
import { GPT } from '../../src/model/gpt';
import { arenaLayout, initWeights } from '../../src/model/params';
import { lossAndGrads } from '../../src/model/train';
import { gptForward, gptLossAndGrads } from '../../src/reference/gpt';
import { randomGptWeights } from '../helpers/gpt-fixtures';
import { gpuTest } from '../helpers/gpu';
import { integers, uniform } from '../helpers/random';
import { expectClose, expectFinite } from '../helpers/tolerance';

const nano = makeConfig('nano');

/**
 * f32 GPU against the float64 reference, per named gradient. Each gradient is a chain of ~20 kernels whose f32
 * reductions (≤ 128 terms) each add ~1e-7 relative error, so errors scale with the gradient's largest entry
 * rather than each entry: measured worst |Δ| / max|g| is ~2e-6 (wpe, ln_1.weight) over all parameters. The
 * tolerance 2e-5·max|g| gives 10× margin; a wrong gradient (a missing contribution, a transposed weight) is off
 * by O(max|g|).
 */
const GRAD_REL_TO_MAX = 2e-5;

/** Per parameter of `want`: its largest |entry| (scale) and the largest |got − want| (err). */
function gradErrors(got: Record<string, ArrayLike<number>>, want: Record<string, ArrayLike<number>>): { name: string; scale: number; err: number }[] {
  return Object.entries(want).map(([name, g]) => {
    let scale = 0;
    let err = 0;
    for (let i = 0; i < g.length; i++) {
      scale = Math.max(scale, Math.abs(g[i]));
      err = Math.max(err, Math.abs(got[name][i] - g[i]));
    }
    return { name, scale, err };
  });
}

function expectGradsMatch(got: Record<string, ArrayLike<number>>, want: Record<string, ArrayLike<number>>, what: string): number {
  for (const { name, scale } of gradErrors(got, want)) {
    expect(scale, `${what}: ${name} has a non-zero gradient`).toBeGreaterThan(0);
    expectClose(got[name], want[name], { atol: GRAD_REL_TO_MAX * scale, rtol: 0 }, `${what}: gradient of ${name}`);
  }
  return worstGradError(got, want);
}

/** max over parameters of max|got − want| / max|want|: how far a gradient set is from another, in GRAD_REL_TO_MAX's units. */
function worstGradError(got: Record<string, ArrayLike<number>>, want: Record<string, ArrayLike<number>>): number {
  return Math.max(0, ...gradErrors(got, want).map(({ scale, err }) => err / scale));
}

describe('GPT forward and backward vs the float64 reference (nano)', () => {
  // Weights N(0, 0.3²) (LayerNorm weights 1 + N(0, 0.3²)): far from GPT-2's tiny init, so every path carries signal.
  const weights = randomGptWeights(nano, 1, 0.3);

  for (const [what, B, T, masked] of [
    ['all-ones loss weights, full context (B=2, T=32)', 2, 32, false],
    ['loss weights masking ~30% of positions, ragged T (B=3, T=17)', 3, 17, true],
  ] as const) {
    gpuTest(`loss and every parameter gradient: ${what}`, async ({ rt }) => {
      const tokens = integers(B * T, nano.vocabSize, 2);
      const targets = integers(B * T, nano.vocabSize, 3);
      const w = masked ? uniform(B * T, 4, 0, 1).map((x) => (x < 0.3 ? 0 : x)) : undefined;
      const model = GPT.create(rt, nano, { weights });
      try {
        const got = await lossAndGrads(model, { B, T, tokens, targets, weights: w });
        const ref = gptLossAndGrads(nano, weights, tokens, targets, B, T, w);
        // The loss is a weighted mean of ~5-nat terms: f32 sums of ≤ 64 of them agree to ~1e-7 relative.
        expect(Math.abs(got.loss - ref.loss), `loss ${got.loss} vs ${ref.loss}`).toBeLessThan(1e-5);
        const worst = expectGradsMatch(got.grads, ref.grads, what);
        expect(worst).toBeLessThan(GRAD_REL_TO_MAX);
      } finally {
        model.dispose();
      }
    });
  }

  gpuTest('logits and final hidden states (forward only) match the reference', async ({ rt }) => {
    const [B, T] = [2, 9];
    const tokens = integers(B * T, nano.vocabSize, 7);
    const model = GPT.create(rt, nano, { weights }).eval();
    try {
      const logits = await model.forward(tokens, B, T);
      // Logits are ~6 in size, the end of 2 blocks of f32 matmuls with K ≤ 128: measured |Δ| ≤ 4e-6.
      expectClose(logits, gptForward(nano, weights, tokens, B, T), { atol: 5e-5, rtol: 1e-5 }, 'logits');
      // hidden·wteᵀ in float64 on the CPU must give the same logits: the hidden path is the LM head's input.
      const hidden = await model.hiddenStates(tokens, B, T);
      const { vocabSize: V, dModel: C } = nano;
      const viaHidden = new Float64Array(B * T * V);
      for (let n = 0; n < B * T; n++) {
        for (let v = 0; v < V; v++) {
          let s = 0;
          for (let c = 0; c < C; c++) s += hidden[n * C + c] * weights.wte[v * C + c];
          viaHidden[n * V + v] = s;
        }
      }
      expectClose(logits, viaHidden, { atol: 5e-5, rtol: 1e-5 }, 'logits vs hidden·wteᵀ');
    } finally {
      model.dispose();
    }
  });

  gpuTest('evaluate() gives the weighted mean loss without touching gradients', async ({ rt }) => {
    const [B, T] = [2, 8];
    const batch = { B, T, tokens: integers(B * T, nano.vocabSize, 8), targets: integers(B * T, nano.vocabSize, 9), weights: uniform(B * T, 10, 0, 2) };
    const model = GPT.create(rt, nano, { weights }).eval();
    try {
      const loss = await model.evaluate(batch);
      const ref = gptLossAndGrads(nano, weights, batch.tokens, batch.targets, B, T, batch.weights);
      expect(Math.abs(loss - ref.loss)).toBeLessThan(1e-5);
      const grads = await model.params.getGrads();
      expect(Object.values(grads).every((g) => g.every((x) => x === 0))).toBe(true);
    } finally {
      model.dispose();
    }
  });
});

describe('dropout in the model', () => {
  const config = makeConfig('nano', { dropout: 0.2 });
  const weights = randomGptWeights(config, 3, 0.3);
  const [B, T] = [2, 12];
  const batch = { B, T, tokens: integers(B * T, config.vocabSize, 11), targets: integers(B * T, config.vocabSize, 12) };

  gpuTest('eval() is dropout-free (matches the reference); training draws seeded, per-step masks', async ({ rt }) => {
    const a = GPT.create(rt, config, { weights, dropoutSeed: 5 });
    const b = GPT.create(rt, config, { weights, dropoutSeed: 5 });
    try {
      const ref = gptLossAndGrads(config, weights, batch.tokens, batch.targets, B, T).loss;
      a.eval();
      expect(Math.abs((await lossAndGrads(a, batch)).loss - ref)).toBeLessThan(1e-5);
      a.train();
      const first = await lossAndGrads(a, batch);
      const second = await lossAndGrads(a, batch);
      const twin = await lossAndGrads(b, batch);
      expect(Math.abs(first.loss - ref), 'dropout changes the loss').toBeGreaterThan(1e-3);
      expect(second.loss, 'the next forward draws new masks').not.toBe(first.loss);
      expect(twin.loss, 'the same seed and step give the same masks').toBe(first.loss);
      expect(Array.from(twin.grads['h.1.mlp.c_fc.weight'])).toEqual(Array.from(first.grads['h.1.mlp.c_fc.weight']));
      expectFinite(first.grads.wte, 'wte gradient with dropout');
      const step = a.dropoutStep;
      expect(Math.abs((await a.evaluate(batch)) - ref), 'evaluate() is always dropout-free').toBeLessThan(1e-5);
      expect(a.training).toBe(true);
      expect(a.dropoutStep).toBe(step);
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});

describe('training-mode dropout vs the float64 reference with the same masks', () => {
  // p = 0.1 at every site (embeddings, each block's attention and MLP projections); the masks are the reference's
  // (bit-identical to the shaders'), so the only differences left are f32 rounding, as in the dropout-free
  // comparison above: the same tolerances apply (loss 1e-5 absolute, gradients 2e-5·max|g|). The 1/(1−p) scale of
  // the kept values adds ~1e-7 relative in f32; measured: loss |Δ| ≈ 2e-8, worst gradient |Δ| ≈ 2.2e-6·max|g|.
  // A wrong site, a skipped site or an off-by-one step means another mask (two masks at p = 0.1 differ in ~18% of
  // entries) at one or more sites: loss off by > 0.1, gradients by O(max|g|).
  const config = makeConfig('nano', { dropout: 0.1 });
  const weights = randomGptWeights(config, 21, 0.3);
  const [B, T] = [3, 7];
  const batch = { B, T, tokens: integers(B * T, config.vocabSize, 22), targets: integers(B * T, config.vocabSize, 23) };
  // Above 2³¹, so the seed must survive as an unsigned 32-bit key on both sides.
  const dropoutSeed = 0xc0ffee42;

  gpuTest('loss and every gradient match at the pass’s {seed, step} (the passes counted so far, itself included); the next pass matches step + 1, not step', async ({ rt }) => {
    const model = GPT.create(rt, config, { weights, dropoutSeed });
    try {
      const reference = (step: number) =>
        gptLossAndGrads(config, weights, batch.tokens, batch.targets, B, T, undefined, { p: config.dropout, seed: model.dropoutSeed, step });
      const noDropout = gptLossAndGrads(config, weights, batch.tokens, batch.targets, B, T);
      const before = model.dropoutStep;

      const first = await lossAndGrads(model, batch);
      // The pass counts itself, then keys its masks with the count.
      const step = model.dropoutStep;
      expect(step, 'a training pass advances the step').toBe(before + 1);
      const atStep = reference(step);
      expect(Math.abs(first.loss - atStep.loss), `loss ${first.loss} vs ${atStep.loss}`).toBeLessThan(1e-5);
      expect(expectGradsMatch(first.grads, atStep.grads, `dropout at step ${step}`)).toBeLessThan(GRAD_REL_TO_MAX);
      // The check can fail: dropout moves the loss far beyond its tolerance.
      expect(Math.abs(first.loss - noDropout.loss), 'dropout changes the loss').toBeGreaterThan(1e-3);

      const second = await lossAndGrads(model, batch);
      const atNext = reference(step + 1);
      expect(Math.abs(second.loss - atNext.loss), `loss ${second.loss} vs ${atNext.loss}`).toBeLessThan(1e-5);
      expect(expectGradsMatch(second.grads, atNext.grads, `dropout at step ${step + 1}`)).toBeLessThan(GRAD_REL_TO_MAX);
      // ...and not the previous pass's masks.
      expect(Math.abs(second.loss - atStep.loss), 'step + 1 draws new masks').toBeGreaterThan(1e-3);
      expect(worstGradError(second.grads, atStep.grads)).toBeGreaterThan(100 * GRAD_REL_TO_MAX);
    } finally {
      model.dispose();
    }
  });
});

describe('GPTParams', () => {
  gpuTest('arena layout: 256-byte-aligned views, decay group (2-D weights) then no-decay group, zero padding', async ({ rt }) => {
    const layout = arenaLayout(nano);
    expect(layout.params.map((p) => p.name)).toEqual(Object.keys(initWeights(nano)));
    for (const p of layout.params) {
      expect(p.offset % 64, p.name).toBe(0);
      expect(p.offset < layout.decaySize, p.name).toBe(p.shape.length === 2);
    }
    const sorted = [...layout.params].sort((a, b) => a.offset - b.offset);
    sorted.forEach((p, i) => i > 0 && expect(p.offset).toBeGreaterThanOrEqual(sorted[i - 1].offset + sorted[i - 1].size));
    expect(layout.params.reduce((s, p) => s + p.size, 0)).toBe(parameterCount(nano));
    const model = GPT.create(rt, nano, { seed: 1 });
    try {
      const flat = await rt.read(model.params.arena);
      const covered = new Uint8Array(layout.size);
      for (const p of layout.params) covered.fill(1, p.offset, p.offset + p.size);
      for (let i = 0; i < layout.size; i++) if (!covered[i] && flat[i] !== 0) expect.fail(`padding element ${i} is ${flat[i]}`);
    } finally {
      model.dispose();
    }
  });

  gpuTest("GPT-2 init: N(0, 0.02²), c_proj weights scaled by 1/√(2·nLayer), biases 0, LayerNorm weights 1; seeded", async ({ rt }) => {
    const config = makeConfig('tiny');
    const w = initWeights(config, 7);
    const std = (a: Float32Array) => Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
    // Sample std of n normals is within ±5·σ/√(2n) of σ.
    const near = (a: Float32Array, sigma: number) => expect(Math.abs(std(a) - sigma)).toBeLessThan((5 * sigma) / Math.sqrt(2 * a.length));
    near(w.wte, 0.02);
    near(w['h.0.attn.c_attn.weight'], 0.02);
    near(w['h.3.mlp.c_proj.weight'], 0.02 / Math.sqrt(8));
    near(w['h.1.attn.c_proj.weight'], 0.02 / Math.sqrt(8));
    expect(w['h.2.ln_1.weight'].every((x) => x === 1)).toBe(true);
    expect(w['h.2.mlp.c_fc.bias'].every((x) => x === 0)).toBe(true);
    expect(w['ln_f.bias'].every((x) => x === 0)).toBe(true);
    expect(Array.from(initWeights(config, 7).wpe)).toEqual(Array.from(w.wpe));
    expect(Array.from(initWeights(config, 8).wpe)).not.toEqual(Array.from(w.wpe));
    const model = GPT.create(rt, nano, { seed: 7 });
    try {
      const got = await model.params.getWeights();
      const want = initWeights(nano, 7);
      for (const name of Object.keys(want)) expect(Array.from(got[name]), name).toEqual(Array.from(want[name]));
    } finally {
      model.dispose();
    }
  });

  gpuTest('setWeights round-trips and validates everything before writing anything', async ({ rt }) => {
    const model = GPT.create(rt, nano, { seed: 1 });
    try {
      const before = await model.params.getWeights();
      const other = initWeights(nano, 2);
      const bad = { ...other, 'h.0.ln_1.bias': new Float32Array(3) };
      expect(() => model.params.setWeights(bad)).toThrow(/setWeights: "h.0.ln_1.bias" has 3 values, expected 32 for shape \[32\] \(nothing was written\)/);
      expect(() => model.params.setWeights({ ...other, 'h.9.ln_1.bias': new Float32Array(32) })).toThrow(/unknown parameter "h.9.ln_1.bias"/);
      const missing: Record<string, Float32Array> = { ...other };
      delete missing.wpe;
      expect(() => model.params.setWeights(missing)).toThrow(/missing 1 parameter\(s\): wpe/);
      expect(() => model.params.setWeights({ ...other, wte: other.wte.map((x, i) => (i === 5 ? NaN : x)) })).toThrow(/"wte"\[5\] = NaN is not finite/);
      const unchanged = await model.params.getWeights();
      for (const name of Object.keys(before)) expect(Array.from(unchanged[name]), name).toEqual(Array.from(before[name]));
      model.params.setWeights({ wpe: other.wpe }, { partial: true });
      const partial = await model.params.getWeights();
      expect(Array.from(partial.wpe)).toEqual(Array.from(other.wpe));
      expect(Array.from(partial.wte)).toEqual(Array.from(before.wte));
      model.params.setWeights(other);
      const after = await model.params.getWeights();
      for (const name of Object.keys(other)) expect(Array.from(after[name]), name).toEqual(Array.from(other[name]));
    } finally {
      model.dispose();
    }
  });

  gpuTest('batch and shape errors are clear', async ({ rt }) => {
    const model = GPT.create(rt, nano, { seed: 1 });
    try {
      const ok = { B: 1, T: 4, tokens: [1, 2, 3, 4], targets: [2, 3, 4, 5] };
      await expect(lossAndGrads(model, { ...ok, T: 33, tokens: new Array(33).fill(0), targets: new Array(33).fill(0) })).rejects.toThrow(/T = 33 exceeds contextLength 32/);
      await expect(lossAndGrads(model, { ...ok, tokens: [1, 2, 3, 64] })).rejects.toThrow(/token id 64 at position 3 is outside the vocabulary 0..63/);
      await expect(lossAndGrads(model, { ...ok, weights: [0, 0, 0, 0] })).rejects.toThrow(/every loss weight is 0/);
      await expect(lossAndGrads(model, { ...ok, weights: [1, NaN, 1, 1] })).rejects.toThrow(/loss weight NaN at position 1 must be finite and ≥ 0/);
      await expect(lossAndGrads(model, { ...ok, targets: [1, 2] })).rejects.toThrow(/targets has 2 values, expected B·T = 4/);
      // A target outside the vocabulary is fine where its weight is 0 (padding), an error where it counts.
      await expect(lossAndGrads(model, { ...ok, targets: [2, 3, 4, 999], weights: [1, 1, 1, 0] })).resolves.toBeDefined();
      await expect(lossAndGrads(model, { ...ok, targets: [2, 3, 4, 999] })).rejects.toThrow(/token id 999/);
      await expect(model.forward([1, 2, 3], 1, 4)).rejects.toThrow(/3 tokens, expected B·T = 4/);
    } finally {
      model.dispose();
    }
  });
});

describe('scalar heads', () => {
  const config = makeConfig('nano', { vocabSize: 29 });
  gpuTest('a score head reads hidden·w + b at every position; it is initialised N(0, 1/(C+1)) when the weights lack it', async ({ rt }) => {
    const weights = initWeights(config, 5);
    const model = GPT.create(rt, config, { weights, head: 'score', seed: 9 });
    try {
      expect(model.head).toBe('score');
      expect(model.params.names.slice(-2)).toEqual(['score.weight', 'score.bias']);
      expect(parameterCount(config, 'score')).toBe(parameterCount(config) + config.dModel + 1);
      const [B, T, C] = [2, 7, config.dModel];
      const tokens = integers(B * T, config.vocabSize, 4);
      const all = await model.params.getWeights();
      const w = all['score.weight'];
      const std = Math.sqrt(w.reduce((s, x) => s + x * x, 0) / C);
      expect(std).toBeGreaterThan(0.5 / Math.sqrt(C + 1));
      expect(std).toBeLessThan(1.6 / Math.sqrt(C + 1));
      expect(all['score.bias'][0]).toBe(0);
      model.params.setWeights({ 'score.bias': [0.5] }, { partial: true });
      model.eval();
      const hidden = await model.hiddenStates(tokens, B, T);
      const scores = await model.scalars(tokens, B, T);
      const expected = Float64Array.from({ length: B * T }, (_, n) => {
        let s = 0.5;
        for (let c = 0; c < C; c++) s += hidden[n * C + c] * w[c];
        return s;
      });
      // hidden·w over C = 32 terms in f32 on both sides of the comparison.
      expectClose(scores, expected, { atol: 1e-5, rtol: 1e-5 }, 'score head');
    } finally {
      model.dispose();
    }
  });

  gpuTest('a language-model GPT has no scalar head', async ({ rt }) => {
    const model = GPT.create(rt, config, { seed: 1 });
    try {
      expect(model.head).toBeUndefined();
      await expect(model.scalars([1, 2], 1, 2)).rejects.toThrow(/no scalar head/);
    } finally {
      model.dispose();
    }
  });
});
