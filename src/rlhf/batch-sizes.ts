// The fixed batch sizes of the training code, in a module of their own so that the GPU-memory estimate
// (src/rlhf/memory.ts) counts with the same numbers without loading the training code.

/** Tokens of one forward-pass chunk (one submit): keeps a chunk's logits (tokens·V floats) well inside binding limits. */
export const CHUNK_TOKENS = 4096;

/**
 * sampleResponses' RNG streams come in blocks of this many rows: row r draws with [mixSeed(seed, 64·⌊r/64⌋), r mod 64],
 * the streams it had when every device generated 64 rows at a time, so that a run's samples (and every figure
 * measured with them) stay the same whatever batch size the device generates in.
 */
export const SAMPLE_SEED_BLOCK_ROWS = 64;

/**
 * Sequences sampleResponses generates at once on this adapter: the rows of its generation batch, which bound its KV
 * cache. On a GPU 256: a decode step over 64 rows leaves most of it idle. On a software adapter 64: a batch of 64
 * takes ~3 s of the tiny preset on 2 cores (a batch end is where a stage can pause or stop), and 256 gained only
 * 10% in tokens/s there (1040 → 1146, tiny, 48 new tokens).
 */
export function sampleBatchRows(adapter: { readonly software: boolean }): number {
  return adapter.software ? 64 : 256;
}

/** Rankings scored in one batch (scoreRankings, DPO's held-out checks): imported rankings may be many. */
export const SCORE_CHUNK_RANKINGS = 16;

/** Tokens of a pretraining row (pretraining, PPO-ptx) at most, or the context length if shorter: short rows keep a step cheap. */
export const PRETRAIN_ROW_TOKENS = 64;

/**
 * Tokens of one micro-batch of a group method's policy step (GRPO, RLOO), or one row if rows are longer: the step's
 * gradients accumulate over micro-batches of this many tokens into one optimizer update, so its activations are one
 * micro-batch's whatever the number of completions (PPO's tiny minibatch is as large: 8 rows of 128 tokens).
 */
export const POLICY_MICROBATCH_TOKENS = 1024;
