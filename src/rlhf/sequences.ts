// How prompts and responses are laid out for the reward model, the value model and PPO. A query is the SFT format's
// prefix [BOS, prompt…, SEP] (src/model/data.ts), a response the ids the policy sampled after it (ending with EOS
// when it finished). Row b of a packed batch is the sequence s = query ++ response, right-padded with PAD to the
// longest row (left padding would shift the learned position embeddings the model was trained with):
//
//   position t:   0    1 … m    m+1   m+2 … m+1+n
//   tokens[t]:    BOS  prompt   SEP   r_1 … r_n        (PAD after)
//   targets[t]:   s[t+1]                               (PAD at and after the last real token)
//
// Response token r_j is the target of position m+j (input r_{j−1}, or SEP for j = 1): its log-probability, KL and
// advantage live there, and so does the value of the state it was sampled in. `start` = m+1 is the first such
// position; `mask` is 1 on positions start … start+n−1. The reward model reads the score at `last` = m+1+n (the
// final real token, the EOS for a finished response).
import type { Tokenizer } from '../model/tokenizer';

export interface PackedBatch {
  readonly B: number;
  readonly T: number;
  /** (B,T) inputs. */
  readonly tokens: Uint32Array;
  /** (B,T) next tokens (PAD where there is none). */
  readonly targets: Uint32Array;
  /** (B,T) 1 where the target is a response token. */
  readonly mask: Float32Array;
  /** (B) position of the first response target (the SEP). */
  readonly start: Uint32Array;
  /** (B) response tokens of each row (n). */
  readonly lengths: Uint32Array;
  /** (B) position of each row's final real token. */
  readonly last: Uint32Array;
}

/**
 * [BOS, prompt…, SEP] for `prompt`, dropping the prompt's first tokens (as sftBatch does) when it is longer than
 * maxTokens − 2, so that maxTokens is never exceeded.
 */
export function encodeQuery(tokenizer: Tokenizer, prompt: string, maxTokens: number): Uint32Array {
  if (!(Number.isInteger(maxTokens) && maxTokens >= 2)) throw new RangeError(`encodeQuery: maxTokens must be an integer ≥ 2, got ${maxTokens}`);
  const ids = tokenizer.encode(prompt);
  const kept = ids.subarray(Math.max(0, ids.length - (maxTokens - 2)));
  const q = new Uint32Array(kept.length + 2);
  q[0] = tokenizer.special.bos;
  q.set(kept, 1);
  q[q.length - 1] = tokenizer.special.sep;
  return q;
}

/** A completion's text as response ids, ending with EOS (the form demonstrations and ranked completions take). */
export function encodeResponse(tokenizer: Tokenizer, text: string, maxTokens: number): Uint32Array {
  const ids = tokenizer.encode(text);
  const n = Math.min(ids.length, maxTokens - 1);
  const r = new Uint32Array(n + 1);
  r.set(ids.subarray(0, n));
  r[n] = tokenizer.special.eos;
  return r;
}

/** Packs B (query, response) pairs into one right-padded batch (see the header for the layout). */
export function packSequences(queries: readonly Uint32Array[], responses: readonly Uint32Array[], pad: number, contextLength: number): PackedBatch {
  const B = queries.length;
  if (B === 0) throw new RangeError('packSequences: no sequences');
  if (responses.length !== B) throw new RangeError(`packSequences: ${queries.length} queries but ${responses.length} responses`);
  const lens = queries.map((q, b) => q.length + responses[b].length);
  const T = Math.max(...lens);
  lens.forEach((L, b) => {
    if (queries[b].length < 2) throw new RangeError(`packSequences: query ${b} has ${queries[b].length} tokens; a query is at least [BOS, SEP]`);
    if (L > contextLength) throw new RangeError(`packSequences: sequence ${b} has ${L} tokens, over the context length ${contextLength}`);
  });
  const tokens = new Uint32Array(B * T).fill(pad);
  const targets = new Uint32Array(B * T).fill(pad);
  const mask = new Float32Array(B * T);
  const start = new Uint32Array(B);
  const lengths = new Uint32Array(B);
  const last = new Uint32Array(B);
  for (let b = 0; b < B; b++) {
    const q = queries[b];
    const r = responses[b];
    const row = b * T;
    tokens.set(q, row);
    tokens.set(r, row + q.length);
    const L = q.length + r.length;
    targets.set(tokens.subarray(row + 1, row + L), row);
    start[b] = q.length - 1;
    lengths[b] = r.length;
    last[b] = L - 1;
    mask.fill(1, row + start[b], row + start[b] + r.length);
  }
  return { B, T, tokens, targets, mask, start, lengths, last };
}

/** The values of `grid` (B,T) at each row's response positions, as one array per row. */
export function responseValues(batch: PackedBatch, grid: ArrayLike<number>): Float64Array[] {
  return Array.from({ length: batch.B }, (_, b) => {
    const from = b * batch.T + batch.start[b];
    return Float64Array.from({ length: batch.lengths[b] }, (_, j) => grid[from + j]);
  });
}

/** Per-row response arrays back onto a (B,T) grid at the response positions (0 elsewhere). */
export function toGrid(batch: PackedBatch, rows: readonly ArrayLike<number>[]): Float32Array {
  const out = new Float32Array(batch.B * batch.T);
  rows.forEach((r, b) => {
    if (r.length !== batch.lengths[b]) throw new RangeError(`toGrid: row ${b} has ${r.length} values for ${batch.lengths[b]} response tokens`);
    for (let j = 0; j < r.length; j++) out[b * batch.T + batch.start[b] + j] = r[j];
  });
  return out;
}
