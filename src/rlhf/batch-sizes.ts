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
