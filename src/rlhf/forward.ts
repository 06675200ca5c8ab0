// Forward passes over packed (query, response) batches, without gradients and with dropout off: the log-probability
// of every target under a policy (the rollout's old log-probs, the frozen reference's), and a scalar head's output
// at every position (values, reward scores). Large batches run in chunks of rows, each chunk one submit.
import { Tape } from '../autograd/tape';
import * as op from '../autograd/ops';
import { timed } from '../gpu/time-split';
import type { GPT } from '../model/gpt';
import { CHUNK_TOKENS } from './batch-sizes';
import type { PackedBatch } from './sequences';

async function perPosition(model: GPT, batch: PackedBatch, what: string, build: (tape: Tape, b: ReturnType<GPT['uploadBatch']>) => op.Var): Promise<Float32Array> {
  const { B, T } = batch;
  const out = new Float32Array(B * T);
  const rows = Math.max(1, Math.floor(CHUNK_TOKENS / T));
  const training = model.training;
  model.eval();
  try {
    for (let r0 = 0; r0 < B; r0 += rows) {
      const r1 = Math.min(B, r0 + rows);
      const slice = (a: Uint32Array) => a.subarray(r0 * T, r1 * T);
      const uploaded = model.uploadBatch({ B: r1 - r0, T, tokens: slice(batch.tokens), targets: slice(batch.targets), weights: new Float32Array((r1 - r0) * T).fill(1) });
      const step = model.rt.step(what);
      const tape = new Tape(step, { grad: false });
      try {
        const read = step.read(build(tape, uploaded).tensor);
        await step.submit();
        out.set(await read, r0 * T);
      } finally {
        tape.dispose();
        model.freeBatch(uploaded);
      }
    }
  } finally {
    model.training = training;
  }
  return out;
}

/** (B,T) log softmax(logits/τ)[target] at every position (PAD targets give meaningless values: mask them). */
export function sequenceLogprobs(model: GPT, batch: PackedBatch, temperature = 1): Promise<Float32Array> {
  return timed('forwardBackward', () =>
    perPosition(model, batch, 'sequence logprobs', (tape, b) => op.logprob(tape, model.logits(tape, model.hidden(tape, b.tokens)), b.targets, temperature)),
  );
}

/** (B,T) the scalar head (reward score or value) at every position. */
export function sequenceScalars(model: GPT, batch: PackedBatch): Promise<Float32Array> {
  return timed('forwardBackward', () => perPosition(model, batch, 'sequence scalars', (tape, b) => model.scalar(tape, model.hidden(tape, b.tokens))));
}

/** (B) the reward model's score of each row: its scalar at the row's final real token. */
export async function lastTokenScores(rewardModel: GPT, batch: PackedBatch): Promise<Float64Array> {
  const grid = await sequenceScalars(rewardModel, batch);
  return Float64Array.from({ length: batch.B }, (_, b) => grid[b * batch.T + batch.last[b]]);
}
