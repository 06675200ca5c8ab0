// Taking a time split (src/gpu/time-split.ts, for the page benchmark) only adds waits: the same seeded work gives the
// same tokens, losses, gradient norms and weights, bit for bit, with and without it. With it, a training step is two
// submits (forward/backward, then the optimizer), and each timed category gets time.
import { describe, expect } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { splitTime, type TimeSplit } from '../../src/gpu/time-split';
import { makeConfig } from '../../src/model/config';
import { generate } from '../../src/model/generate';
import { GPT } from '../../src/model/gpt';
import { constantSchedule } from '../../src/model/schedule';
import { Trainer } from '../../src/model/train';
import { gpuTest } from '../helpers/gpu';
import { integers } from '../helpers/random';

const nano = makeConfig('nano');

/** Sampling, two optimizer steps on the samples, a scoring forward and a weights readback, from seeded weights. */
async function work(rt: GpuRuntime) {
  const model = GPT.create(rt, nano, { seed: 3 });
  const trainer = new Trainer(model, { schedule: constantSchedule(1e-2) });
  try {
    const prompts = [integers(5, nano.vocabSize, 1), integers(3, nano.vocabSize, 2)];
    const sampled = await generate(model, { prompts, maxNewTokens: 12, seed: 7 });
    const tokens = Uint32Array.from(sampled.ids.flatMap((ids, b) => [...prompts[b], ...ids].slice(0, 12)));
    const batch = { B: 2, T: 12, tokens, targets: integers(24, nano.vocabSize, 4) };
    const submits = rt.counters.submits;
    const steps = [await trainer.trainStep(batch), await trainer.trainStep(batch)];
    const stepSubmits = rt.counters.submits - submits;
    const logits = await model.forward(tokens, 2, 12);
    const weights = await model.params.getWeights();
    return { ids: sampled.ids, logprobs: sampled.logprobs, steps, stepSubmits, logits, weights };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

describe('time split', () => {
  gpuTest('the same results with and without it; with it, two submits a training step and time in every category', async ({ rt }) => {
    const plain = await work(rt);
    const { result: split, split: time } = await splitTime(() => rt.device.queue.onSubmittedWorkDone(), () => work(rt));

    expect(split.ids).toEqual(plain.ids);
    expect(split.logprobs).toEqual(plain.logprobs);
    expect(split.steps).toEqual(plain.steps);
    expect(split.logits).toEqual(plain.logits);
    expect(split.weights).toEqual(plain.weights);

    expect(plain.stepSubmits).toBe(2);
    expect(split.stepSubmits).toBe(4);
    for (const c of ['generation', 'forwardBackward', 'optimizer', 'readback', 'cpu'] as (keyof TimeSplit)[]) expect(time[c], c).toBeGreaterThan(0);
  });
});
