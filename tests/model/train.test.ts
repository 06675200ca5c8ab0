import { describe, expect, test } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { makeConfig, parameterShapes } from '../../src/model/config';
import { fillConstant } from '../../src/kernels/fill';
import { reducePlan } from '../../src/kernels/reduce';
import { GPT } from '../../src/model/gpt';
import { ADAMW_DEFAULTS } from '../../src/model/optimizer';
import { constantSchedule, learningRate, type ScheduleOptions, validateSchedule } from '../../src/model/schedule';
import { lossAndGrads, Trainer, TrainingDivergedError } from '../../src/model/train';
import { adamwStep } from '../../src/reference/adamw';
import { gptLossAndGrads } from '../../src/reference/gpt';
import { gradNorm } from '../../src/reference/gradnorm';
import { randomGptWeights } from '../helpers/gpt-fixtures';
import { gpuTest } from '../helpers/gpu';
import { integers, uniform } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

const nano = makeConfig('nano');

function batchOf(B: number, T: number, seed: number, weighted = false) {
  return {
    B,
    T,
    tokens: integers(B * T, nano.vocabSize, seed),
    targets: integers(B * T, nano.vocabSize, seed + 1),
    weights: weighted ? uniform(B * T, seed + 2, 0, 2) : undefined,
  };
}

describe('schedule', () => {
  test('linear warm-up, cosine decay to minLr, then flat (nanoGPT get_lr)', () => {
    const o: ScheduleOptions = { maxLr: 1e-3, minLr: 1e-4, warmupSteps: 4, decaySteps: 14 };
    expect(learningRate(0, o)).toBeCloseTo(1e-3 / 5, 15);
    expect(learningRate(3, o)).toBeCloseTo((1e-3 * 4) / 5, 15);
    expect(learningRate(4, o)).toBeCloseTo(1e-3, 15);
    expect(learningRate(9, o)).toBeCloseTo(1e-4 + 0.5 * 9e-4, 15); // halfway: cos(π/2) = 0
    expect(learningRate(14, o)).toBe(1e-4);
    expect(learningRate(1000, o)).toBe(1e-4);
    for (let s = 4; s < 14; s++) expect(learningRate(s + 1, o)).toBeLessThan(learningRate(s, o));
    expect(learningRate(0, { maxLr: 6e-4, warmupSteps: 0, decaySteps: 10 })).toBeCloseTo(6e-4, 15);
    expect(learningRate(10, { maxLr: 6e-4, warmupSteps: 0, decaySteps: 10 })).toBeCloseTo(6e-5, 15); // minLr defaults to maxLr/10
    expect(learningRate(500, constantSchedule(3e-4))).toBe(3e-4);
    expect(() => validateSchedule({ maxLr: 1e-3, warmupSteps: 10, decaySteps: 5 })).toThrow(/decaySteps must be an integer ≥ warmupSteps \(10\), got 5/);
    expect(() => validateSchedule({ maxLr: 1e-3, minLr: 1e-2, warmupSteps: 0, decaySteps: 5 })).toThrow(/minLr must be in \[0, maxLr\]/);
  });
});

/** nanoGPT's AdamW on the float64 reference GPT: decay on 2-D weights, global-norm clipping. */
function referenceTraining(weights0: Record<string, Float32Array>, batch: ReturnType<typeof batchOf>, steps: number, schedule: ScheduleOptions) {
  const { beta1, beta2, eps, weightDecay, gradClip } = ADAMW_DEFAULTS;
  const shapes = parameterShapes(nano);
  const w: Record<string, Float64Array> = {};
  const m: Record<string, Float64Array> = {};
  const v: Record<string, Float64Array> = {};
  for (const p of shapes) {
    w[p.name] = Float64Array.from(weights0[p.name]);
    m[p.name] = new Float64Array(w[p.name].length);
    v[p.name] = new Float64Array(w[p.name].length);
  }
  const losses: number[] = [];
  const norms: number[] = [];
  for (let s = 0; s < steps; s++) {
    const { loss, grads } = gptLossAndGrads(nano, w, batch.tokens, batch.targets, batch.B, batch.T, batch.weights);
    const flat = shapes.flatMap((p) => Array.from(grads[p.name]));
    const [norm, scale] = gradNorm(flat, gradClip);
    losses.push(loss);
    norms.push(norm);
    const lr = learningRate(s, schedule);
    for (const p of shapes) {
      const decay = p.shape.length === 2 ? weightDecay : 0;
      const next = adamwStep(w[p.name], grads[p.name], m[p.name], v[p.name], s + 1, { lr, beta1, beta2, eps, weightDecay: decay }, scale);
      [w[p.name], m[p.name], v[p.name]] = [next.params, next.m, next.v];
    }
  }
  return { losses, norms, weights: w };
}

describe('training', () => {
  gpuTest('ten AdamW steps (warm-up + cosine, clipping active) track the float64 reference', async ({ rt }) => {
    const weights = randomGptWeights(nano, 21, 0.3);
    const batch = batchOf(2, 16, 30, true);
    const schedule: ScheduleOptions = { maxLr: 1e-2, minLr: 1e-3, warmupSteps: 3, decaySteps: 10 };
    const ref = referenceTraining(weights, batch, 10, schedule);
    const model = GPT.create(rt, nano, { weights });
    const trainer = new Trainer(model, { schedule });
    try {
      for (let s = 0; s < 10; s++) {
        const m = await trainer.trainStep(batch);
        expect(m.step).toBe(s);
        expect(m.lr).toBe(learningRate(s, schedule));
        expect(m.tokens).toBe(32);
        // Measured over the 10 steps: |Δloss| ≤ 1.9e-6 and |Δnorm|/norm ≤ 5.4e-5 (f32 rounding compounding through
        // Adam's normalised updates); 2e-5 and 5e-4 leave 10× margin, while one wrong step moves the loss ~1e-2.
        expect(Math.abs(m.loss - ref.losses[s]), `loss at step ${s}: ${m.loss} vs ${ref.losses[s]}`).toBeLessThan(2e-5);
        expect(Math.abs(m.gradNorm - ref.norms[s]) / ref.norms[s], `grad norm at step ${s}`).toBeLessThan(5e-4);
      }
      expect(ref.norms[0], 'clipping active at the first step (norm > gradClip = 1)').toBeGreaterThan(1);
      expect(Math.min(...ref.norms), 'and inactive later').toBeLessThan(1);
      expect(ref.losses[9]).toBeLessThan(ref.losses[0] - 0.5);
      const got = await model.params.getWeights();
      // Measured final |Δw| ≤ 1.5e-5 (c_attn weights; ≤ 1e-6 elsewhere), where each step moves a weight by up to lr
      // = 1e-2. Excluded: the key biases (c_attn.bias channels [C, 2C)). q·(k + b) shifts every score of a query by
      // the same q·b, which softmax ignores, so their gradient is exactly 0 — in float64 ~1e-17, on the GPU f32
      // noise ~1e-9 — and Adam divides by √v̂ + eps (eps = 1e-8), turning that noise into real, meaningless moves.
      const C = nano.dModel;
      for (const name of Object.keys(ref.weights)) {
        const keep = (_: number, i: number) => !(name.endsWith('attn.c_attn.bias') && i >= C && i < 2 * C);
        expectClose(got[name].filter(keep), ref.weights[name].filter(keep), { atol: 1e-4, rtol: 0 }, `${name} after 10 steps`);
      }
    } finally {
      trainer.dispose();
      model.dispose();
    }
  });

  gpuTest('overfitting one batch drives the loss below 0.05', async ({ rt }) => {
    // 2×16 tokens of random targets from GPT-2's init: measured ~26 steps at lr 1e-2 (~0.2 s a step on SwiftShader).
    const model = GPT.create(rt, nano, { seed: 1 });
    const trainer = new Trainer(model, { schedule: constantSchedule(1e-2), optimizer: { weightDecay: 0 } });
    try {
      const batch = batchOf(2, 16, 5);
      const first = await trainer.trainStep(batch);
      expect(first.loss).toBeGreaterThan(3.5); // ≈ ln 64 = 4.16 at init
      let last = first;
      while (trainer.step < 80 && last.loss >= 0.05) last = await trainer.trainStep(batch);
      expect(last.loss, `loss after ${trainer.step} steps`).toBeLessThan(0.05);
    } finally {
      trainer.dispose();
      model.dispose();
    }
  });

  gpuTest('gradient accumulation over 2 micro-batches equals one batch of both (loss, gradients, update)', async ({ rt }) => {
    const weights = randomGptWeights(nano, 4, 0.3);
    const a = batchOf(2, 12, 40, true);
    const b = batchOf(3, 12, 50, true);
    const both = {
      B: 5,
      T: 12,
      tokens: new Uint32Array([...a.tokens, ...b.tokens]),
      targets: new Uint32Array([...a.targets, ...b.targets]),
      weights: new Float32Array([...a.weights!, ...b.weights!]),
    };
    const model = GPT.create(rt, nano, { weights });
    try {
      const micro = await lossAndGrads(model, [a, b]);
      const whole = await lossAndGrads(model, both);
      // Same sums in another order: f32 reassociation only (~1e-7 relative of each gradient's scale).
      expect(Math.abs(micro.loss - whole.loss)).toBeLessThan(1e-6);
      for (const name of Object.keys(whole.grads)) {
        const scale = whole.grads[name].reduce((s, x) => Math.max(s, Math.abs(x)), 0);
        expectClose(micro.grads[name], whole.grads[name], { atol: 1e-5 * scale, rtol: 0 }, `accumulated gradient of ${name}`);
      }
      // The same through the trainer: one update from two micro-batches equals one from the whole batch.
      const t1 = new Trainer(model, { schedule: constantSchedule(1e-3) });
      const m1 = await t1.trainStep([a, b]);
      const w1 = await model.params.getWeights();
      model.params.setWeights(weights);
      const t2 = new Trainer(model, { schedule: constantSchedule(1e-3) });
      const m2 = await t2.trainStep(both);
      const w2 = await model.params.getWeights();
      t1.dispose();
      t2.dispose();
      expect(Math.abs(m1.loss - m2.loss)).toBeLessThan(1e-6);
      expect(m1.tokens).toBe(60);
      // Adam's first step moves each weight by lr·g/(|g| + eps) ≈ ±1e-3 whatever the gradient's size, so
      // reassociation error only shows where |g| is small: measured ≤ 3e-6 (vs moves of 1e-3) except the key biases, whose gradient
      // is exactly 0 in exact arithmetic (softmax ignores q·b_k) and f32 noise here, which Adam scales up to ~lr.
      const C = nano.dModel;
      for (const name of Object.keys(w1)) {
        const keep = (_: number, i: number) => !(name.endsWith('attn.c_attn.bias') && i >= C && i < 2 * C);
        expectClose(w1[name].filter(keep), w2[name].filter(keep), { atol: 2e-5, rtol: 0 }, `${name} after one step`);
      }
    } finally {
      model.dispose();
    }
  });

  gpuTest('a training step is one submit; nothing is allocated after the first step', async ({ rt }) => {
    const model = GPT.create(rt, nano, { seed: 3 });
    const trainer = new Trainer(model, { schedule: constantSchedule(1e-3) });
    try {
      const batch = batchOf(2, 16, 60);
      await trainer.trainStep(batch);
      await trainer.trainStep([batch, batchOf(1, 8, 61)]);
      const allocations = rt.buffers.stats.allocations;
      for (const batches of [[batch], [batch, batchOf(1, 8, 61)], [batch]]) {
        const before = { ...rt.counters };
        await trainer.trainStep(batches);
        expect(rt.counters.submits - before.submits, 'submits per training step').toBe(1);
        // nano, one micro-batch: zero grads 1 + forward 22 (embedding, 2 × 9 per block, ln_f, LM head, fused
        // cross-entropy) + loss sum 1 + backward 48 (LM head 2, ln_f 2, 2 × 21 per block, embedding 2) + grad norm 2
        // + AdamW 2 (decay and no-decay groups) = 76; each further micro-batch adds 22 + 1 + 48 = 71.
        expect(rt.counters.dispatches - before.dispatches, 'dispatches per training step').toBe(76 + 71 * (batches.length - 1));
      }
      expect(rt.buffers.stats.allocations, 'buffer pool allocations after the first steps').toBe(allocations);
      await trainer.reset();
      expect(trainer.step).toBe(0);
      expect((await rt.read(trainer.optimizer.v)).every((x) => x === 0)).toBe(true);
    } finally {
      trainer.dispose();
      model.dispose();
    }
  });

  /** The weights and Adam moments now, to check that a refused step left them as they were. */
  async function trainingState(rt: GpuRuntime, model: GPT, trainer: Trainer) {
    return { weights: await model.params.getWeights(), m: Array.from(await rt.read(trainer.optimizer.m)), v: Array.from(await rt.read(trainer.optimizer.v)) };
  }
  async function expectUntouched(rt: GpuRuntime, model: GPT, trainer: Trainer, before: Awaited<ReturnType<typeof trainingState>>) {
    const after = await trainingState(rt, model, trainer);
    for (const name of Object.keys(after.weights)) expect(Array.from(after.weights[name]), name).toEqual(Array.from(before.weights[name]));
    expect(after.m).toEqual(before.m);
    expect(after.v).toEqual(before.v);
  }

  gpuTest('a NaN weight: TrainingDivergedError names the step, and weights and moments stay untouched', async ({ rt }) => {
    const model = GPT.create(rt, nano, { seed: 3 });
    const trainer = new Trainer(model, { schedule: constantSchedule(1e-3) });
    try {
      const batch = batchOf(2, 8, 70);
      await trainer.trainStep(batch);
      await trainer.trainStep(batch);
      // Inject a NaN behind setWeights' back (it rejects non-finite values).
      const poisoned = await model.params.getWeights();
      poisoned['h.1.mlp.c_fc.weight'][17] = NaN;
      rt.write(model.params.get('h.1.mlp.c_fc.weight'), Float32Array.from(poisoned['h.1.mlp.c_fc.weight']));
      const before = await trainingState(rt, model, trainer);
      const error = await trainer.trainStep(batch).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TrainingDivergedError);
      expect((error as Error).message).toMatch(/^Training diverged at step 2: loss is NaN and gradient norm is NaN\. The update was skipped/);
      expect(trainer.step, 'the step count does not advance').toBe(2);
      await expectUntouched(rt, model, trainer, before);
    } finally {
      trainer.dispose();
      model.dispose();
    }
  });

  gpuTest('finite gradients whose norm overflows (Σg² > f32 max) diverge too: the step is refused, not taken', async ({ rt }) => {
    const model = GPT.create(rt, nano, { seed: 3 });
    const trainer = new Trainer(model, { schedule: constantSchedule(1e-3) });
    try {
      await trainer.trainStep(batchOf(2, 8, 90));
      const before = await trainingState(rt, model, trainer);
      // Every gradient g with each chunk's partial Σg² at 0.9 × the f32 maximum: finite, but their total is not, so
      // the norm is +Infinity, which is no NaN. (A partial that overflowed would turn into NaN in the compensated sum.)
      const { chunk, groups } = reducePlan(model.params.gradArena.size);
      expect(groups).toBeGreaterThan(1);
      const g = Math.sqrt((0.9 * 3.4028234663852886e38) / chunk);
      const error = await trainer.objectiveStep('overflowing gradients', (step) => (fillConstant(step, model.params.gradArena, g), [])).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TrainingDivergedError);
      expect((error as TrainingDivergedError).gradNorm).toBe(Infinity);
      expect((error as Error).message).toMatch(/gradient norm is Infinity/);
      expect(trainer.step, 'the step count does not advance').toBe(1);
      await expectUntouched(rt, model, trainer, before);
    } finally {
      trainer.dispose();
      model.dispose();
    }
  });

  gpuTest('a huge learning rate diverges; the weights stay those of the last good step', async ({ rt }) => {
    const model = GPT.create(rt, nano, { seed: 3 });
    const trainer = new Trainer(model, { schedule: constantSchedule(1e37), optimizer: { weightDecay: 0 } });
    try {
      const batch = batchOf(2, 8, 80);
      let good = await model.params.getWeights();
      let error: unknown;
      for (let s = 0; s < 4 && !error; s++) {
        try {
          await trainer.trainStep(batch);
          good = await model.params.getWeights();
        } catch (e) {
          error = e;
        }
      }
      expect(error).toBeInstanceOf(TrainingDivergedError);
      const diverged = error as TrainingDivergedError;
      expect(diverged.step).toBe(trainer.step);
      expect(Number.isFinite(diverged.loss) && Number.isFinite(diverged.gradNorm)).toBe(false);
      const after = await model.params.getWeights();
      for (const name of Object.keys(after)) expect(Array.from(after[name]), name).toEqual(Array.from(good[name]));
    } finally {
      trainer.dispose();
      model.dispose();
    }
  });
});
