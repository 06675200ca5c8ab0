// The fixed batch sizes of the training code, in a module of their own so that the GPU-memory estimate
// (src/rlhf/memory.ts) counts with the same numbers without loading the training code.

/** Tokens of one forward-pass chunk (one submit): keeps a chunk's logits (tokens·V floats) well inside binding limits. */
export const CHUNK_TOKENS = 4096;

/** Sequences sampleResponses generates at once: the rows of its generation batch, which bound its KV cache. */
export const SAMPLE_BATCH_ROWS = 64;

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
