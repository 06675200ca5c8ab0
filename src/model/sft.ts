// Supervised fine-tuning (SFT): the InstructGPT recipe's first stage. The model is trained with the LM loss on
// demonstrations {"prompt","completion"} (TRL's format), and only the completion tokens and the EOS carry loss —
// sftBatch sets weight 0 on prompt, separator and padding positions (see src/model/data.ts for the exact rule).
//
// Implementation details:
//   1. A fixed set of demonstrations is encoded once; each step draws B of them with replacement, seeded by
//      (seed, step). A stream of demonstrations (a task's generator) gives each step its next B.
//   2. The loss is the mean over trained tokens of the whole batch (Σ w·nll / Σ w), one Trainer step (one submit).
//   3. Warm-up + cosine schedule over the run; AdamW with decoupled weight decay and global-norm clipping.
//   4. Held-out loss on a fixed set of batches every `evalEvery` steps (dropout off).
import { mixSeed, encodeSftExamples, type SftBatch, type SftExample, sftBatch } from './data';
import type { GPT } from './gpt';
import type { AdamWOptions } from './optimizer';
import type { Tokenizer } from './tokenizer';
import { type StepMetrics, Trainer } from './train';

export interface SftOptions {
  steps: number;
  batchSize: number;
  /** Tokens per row (≤ the model's contextLength). */
  seq: number;
  /** Peak learning rate. */
  lr: number;
  warmupSteps?: number;
  seed: number;
  optimizer?: Partial<AdamWOptions>;
  /** Held-out demonstrations for the validation loss (none: no validation). */
  heldOut?: readonly SftExample[];
  evalEvery?: number;
  /** Awaited after every optimizer step: waiting in it holds training, throwing (a stop, a metric alarm) ends it. */
  onStep?: (metrics: StepMetrics & { valLoss?: number }) => void | Promise<void>;
}

/** Fresh demonstrations without end, the next one at each call (e.g. a task's generator: `Task.exampleGenerator`). */
export type SftStream = () => SftExample;

export interface SftResult {
  losses: number[];
  /** Validation losses as [step, loss] pairs. */
  valLosses: [number, number][];
}

export async function supervisedFineTune(
  model: GPT,
  tokenizer: Tokenizer,
  examples: readonly SftExample[] | SftStream,
  options: SftOptions,
): Promise<SftResult> {
  const { steps, batchSize: B, seq: T, lr, warmupSteps = 0, seed, evalEvery = 0 } = options;
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`sft: steps must be a positive integer, got ${steps}`);
  if (T > model.config.contextLength) throw new RangeError(`sft: seq ${T} exceeds the model's context ${model.config.contextLength}`);
  if (tokenizer.vocabSize !== model.config.vocabSize) {
    throw new Error(`sft: the tokenizer has ${tokenizer.vocabSize} ids, the model's vocabulary is ${model.config.vocabSize}`);
  }
  let nextBatch: (step: number) => SftBatch;
  if (typeof examples === 'function') {
    const rows = Array.from({ length: B }, (_, i) => i);
    nextBatch = () => sftBatch(Array.from({ length: B }, examples), tokenizer, B, T, rows);
  } else {
    const train = encodeSftExamples(examples, tokenizer);
    nextBatch = (step) => sftBatch(train, tokenizer, B, T, mixSeed(seed, step));
  }
  const heldOut = options.heldOut?.length ? encodeSftExamples(options.heldOut, tokenizer) : [];
  const valBatches: SftBatch[] = [];
  for (let start = 0; start < heldOut.length; start += B) {
    const indices = Uint32Array.from({ length: B }, (_, i) => Math.min(start + i, heldOut.length - 1));
    valBatches.push(sftBatch(heldOut, tokenizer, B, T, indices));
  }

  const trainer = new Trainer(model.train(), {
    schedule: { maxLr: lr, warmupSteps, decaySteps: Math.max(steps, warmupSteps) },
    optimizer: options.optimizer,
  });
  const result: SftResult = { losses: [], valLosses: [] };
  try {
    for (let step = 0; step < steps; step++) {
      const metrics = await trainer.trainStep(nextBatch(step));
      result.losses.push(metrics.loss);
      let valLoss: number | undefined;
      if (valBatches.length && evalEvery > 0 && ((step + 1) % evalEvery === 0 || step === steps - 1)) {
        valLoss = await validationLoss(model, valBatches);
        result.valLosses.push([step, valLoss]);
      }
      await options.onStep?.({ ...metrics, valLoss });
    }
  } finally {
    trainer.dispose();
    model.train();
  }
  return result;
}

/** Mean loss over trained tokens of the held-out batches, dropout off. */
async function validationLoss(model: GPT, batches: readonly SftBatch[]): Promise<number> {
  model.eval();
  let weighted = 0;
  let total = 0;
  for (const b of batches) {
    const w = b.weights.reduce((s, x) => s + x, 0);
    if (w === 0) continue;
    weighted += (await model.evaluate(b)) * w;
    total += w;
  }
  model.train();
  return weighted / total;
}
