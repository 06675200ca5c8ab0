// Training: one optimizer step is ONE submit — zero the gradient arena, forward + backward of every micro-batch
// (gradients accumulate in the arena), the loss reduced on the GPU, gradient norm and clip factor, AdamW on both
// parameter groups — and ONE readback of [norm, clip factor, per-micro-batch losses] for the metrics.
// (While the benchmark splits a stage's time, src/gpu/time-split.ts, it is two submits: forward/backward, then the
// optimizer.)
//
// Gradient accumulation: every micro-batch's loss is scaled by 1/Σw over ALL micro-batches, so the accumulated
// gradient is exactly that of one batch made of all of them (with unit weights and equal micro-batches this is
// the usual 1/accum scaling of the per-micro-batch mean).
//
// Divergence: if the gradient norm is NaN/Inf, adamw_update.wgsl skips the update on the GPU, so the weights
// and moments stay the last good ones; the readback then shows it and trainStep throws TrainingDivergedError
// without advancing the step count. (A non-finite loss always comes with non-finite gradients here — NaN or Inf
// logits give NaN in the fused cross-entropy gradient — so the norm alone gates the update.)
import { Tape } from '../autograd/tape';
import type { Step, Tensor } from '../gpu';
import { splittingTime, timed } from '../gpu/time-split';
import { fillConstant } from '../kernels/fill';
import { reduceScratchSize, reduceSum } from '../kernels/reduce';
import type { Batch, BatchTensors, GPT } from './gpt';
import { AdamW, type AdamWOptions } from './optimizer';
import { learningRate, type ScheduleOptions, validateSchedule } from './schedule';

export class TrainingDivergedError extends Error {
  constructor(
    /** The optimizer step (0-based) that produced it; no update was applied. */
    readonly step: number,
    readonly loss: number,
    readonly gradNorm: number,
  ) {
    const bad = [!Number.isFinite(loss) && `loss is ${loss}`, !Number.isFinite(gradNorm) && `gradient norm is ${gradNorm}`].filter(Boolean);
    super(
      `Training diverged at step ${step}: ${bad.join(' and ')}. The update was skipped, so the weights are those ` +
        'before this step; lower the learning rate, check the data, or reload a checkpoint.',
    );
    this.name = 'TrainingDivergedError';
  }
}

export interface StepMetrics {
  /** The step just taken (0-based). */
  step: number;
  /** Weighted mean loss over every micro-batch, before the update. */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Learning rate used. */
  lr: number;
  /** Tokens processed (Σ B·T over the micro-batches). */
  tokens: number;
}

export interface TrainerOptions {
  schedule: ScheduleOptions;
  optimizer?: Partial<AdamWOptions>;
}

/** Floats between views of the metrics tensor: 256 bytes, the view alignment (slot 0 is unused). */
const SLOT = 64;

/**
 * Records, for every micro-batch, forward + weighted loss + backward into the gradient arena (zeroed by the caller), and the
 * loss of micro-batch k into metrics[SLOT·(k+1)] (scaled by 1/Σw over all micro-batches, so the slots sum to the
 * loss). Each micro-batch's activations go back to the pool as soon as its backward is recorded, so the next one
 * reuses them (dispatches run in recording order). The batches must have been uploaded before (their
 * writeBuffer lands before the whole submit, so their buffers must not be reused within it).
 */
function recordLossAndGrads(model: GPT, step: Step, batches: readonly BatchTensors[], metrics: Tensor<'f32'>, scratch: Tensor): void {
  const total = batches.reduce((s, b) => s + b.weightSum, 0);
  batches.forEach((b, k) => {
    const tape = new Tape(step);
    try {
      const losses = model.loss(tape, b, 1 / total);
      reduceSum(step, losses, metrics.view([1], SLOT * (k + 1) * 4, `loss ${k}`), scratch, { scale: 1 / total });
      tape.backward();
    } finally {
      tape.dispose();
    }
  });
}

interface Prepared {
  uploads: BatchTensors[];
  metrics: Tensor<'f32'>;
  scratch: Tensor;
  tokens: number;
}

function prepare(model: GPT, batch: Batch | readonly Batch[]): Prepared {
  const batches = Array.isArray(batch) ? (batch as readonly Batch[]) : [batch as Batch];
  if (batches.length === 0) throw new Error('train: no micro-batches given');
  const uploads: BatchTensors[] = [];
  try {
    for (const b of batches) uploads.push(model.uploadBatch(b));
  } catch (e) {
    uploads.forEach((u) => model.freeBatch(u));
    throw e;
  }
  const total = uploads.reduce((s, u) => s + u.weightSum, 0);
  if (!Number.isFinite(total)) {
    uploads.forEach((u) => model.freeBatch(u));
    throw new Error(`train: the loss weights sum to ${total}`);
  }
  const maxN = Math.max(...uploads.map((u) => u.B * u.T));
  return {
    uploads,
    metrics: model.rt.tensor([SLOT * (batches.length + 1)], 'train metrics', 'f32'),
    scratch: model.rt.tensor([reduceScratchSize(maxN)], 'loss scratch'),
    tokens: uploads.reduce((s, u) => s + u.B * u.T, 0),
  };
}

function release(model: GPT, p: Prepared): void {
  p.uploads.forEach((u) => model.freeBatch(u));
  model.rt.free(p.metrics, p.scratch);
}

function lossFromMetrics(m: Float32Array, micro: number): number {
  let loss = 0;
  for (let k = 1; k <= micro; k++) loss += m[SLOT * k];
  return loss;
}

/**
 * The loss and every parameter's gradient for a batch (or micro-batches accumulated), without an update: one
 * submit for forward and backward, then a readback of the gradient arena. For tests and diagnostics.
 */
export async function lossAndGrads(model: GPT, batch: Batch | readonly Batch[]): Promise<{ loss: number; grads: Record<string, Float32Array> }> {
  const p = prepare(model, batch);
  try {
    const step = model.rt.step('loss and grads');
    fillConstant(step, model.params.gradArena, 0);
    recordLossAndGrads(model, step, p.uploads, p.metrics, p.scratch);
    const read = step.read(p.metrics);
    await step.submit();
    const loss = lossFromMetrics(await read, p.uploads.length);
    return { loss, grads: await model.params.getGrads() };
  } finally {
    release(model, p);
  }
}

/** Holds the model, the AdamW state (m and v arenas), the step count and the schedule. */
export class Trainer {
  /** Optimizer steps taken (the next step's 0-based index). */
  step = 0;
  readonly optimizer: AdamW;
  readonly schedule: ScheduleOptions;

  constructor(
    readonly model: GPT,
    options: TrainerOptions,
  ) {
    validateSchedule(options.schedule);
    this.schedule = options.schedule;
    this.optimizer = new AdamW(model.params, options.optimizer);
  }

  /** The learning rate the next step will use. */
  get lr(): number {
    return learningRate(this.step, this.schedule);
  }

  /**
   * One optimizer step over one batch or several micro-batches (gradients accumulated, one update): a single
   * submit and a single readback. Throws TrainingDivergedError (weights untouched) on a non-finite loss or norm.
   */
  async trainStep(batch: Batch | readonly Batch[]): Promise<StepMetrics> {
    const p = prepare(this.model, batch);
    try {
      const r = await this.objectiveStep(
        `train step ${this.step}`,
        (step) => {
          recordLossAndGrads(this.model, step, p.uploads, p.metrics, p.scratch);
          return [p.metrics];
        },
        ([m]) => lossFromMetrics(m, p.uploads.length),
      );
      return { step: r.step, loss: lossFromMetrics(r.reads[0], p.uploads.length), gradNorm: r.gradNorm, lr: r.lr, tokens: p.tokens };
    } finally {
      release(this.model, p);
    }
  }

  /**
   * One optimizer step of any objective (the reward model's ranking loss, PPO's clipped losses, …), in ONE submit (two
   * while a time split is taken):
   * zero the gradient arena, `record` the objective's forward and backward on the step (a Tape over `step`; it
   * returns the tensors to read back), then the gradient norm, clipping and AdamW. The reads come back with the
   * norm. On a non-finite gradient norm the update is skipped on the GPU and TrainingDivergedError is thrown (its
   * loss from `lossOf(reads)` when given), leaving the weights and the step count as they were.
   */
  async objectiveStep(
    label: string,
    record: (step: Step) => readonly Tensor[],
    lossOf?: (reads: Float32Array[]) => number,
  ): Promise<{ step: number; reads: Float32Array[]; gradNorm: number; lr: number }> {
    const { rt } = this.model;
    const lr = this.lr;
    const index = this.step;
    const clip = rt.tensor([2], 'clip', 'f32');
    // While a time split is taken (src/gpu/time-split.ts), the forward/backward and the optimizer go in two submits,
    // so each gets its own GPU time: the same dispatches in the same queue order, so the same results.
    const split = splittingTime();
    try {
      const step = rt.step(label);
      const pending = await timed('forwardBackward', async () => {
        fillConstant(step, this.model.params.gradArena, 0);
        const reads = record(step).map((t) => step.read(t));
        if (split) await step.submit();
        return reads;
      });
      const [norm, reads] = (await timed('optimizer', async () => {
        const update = split ? rt.step(`${label}: optimizer`) : step;
        this.optimizer.record(update, clip, lr, index + 1);
        const read = update.read(clip);
        await update.submit();
        return Promise.all([read, Promise.all(pending)]);
      })) as [Float32Array, Float32Array[]];
      const gradNorm = norm[0];
      if (!Number.isFinite(gradNorm)) throw new TrainingDivergedError(index, lossOf ? lossOf(reads) : NaN, gradNorm);
      this.step++;
      return { step: index, reads, gradNorm, lr };
    } finally {
      rt.free(clip);
    }
  }

  /** Starts over: step 0 and zero Adam moments (e.g. after loading other weights). */
  async reset(): Promise<void> {
    const step = this.model.rt.step('reset optimizer');
    this.optimizer.reset(step);
    await step.submit();
    this.step = 0;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

/** trainer.trainStep(batch), as a function. */
export function trainStep(trainer: Trainer, batch: Batch | readonly Batch[]): Promise<StepMetrics> {
  return trainer.trainStep(batch);
}
