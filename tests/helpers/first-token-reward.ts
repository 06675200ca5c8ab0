// A reward model built by hand for the learning tests at nano scale (tests/rlhf/ppo-learning.test.ts's header explains
// its construction and why it rewards the first token; tests/rlhf/grpo-learning.test.ts and best-of-n.test.ts use it
// too): over the 9-token vocabulary of "abcd", a response whose first token is "a" scores REWARD, any other 0, exactly
// and the same on every machine. Every prompt has PROMPT_LENGTH characters so the first response token sits at position
// FIRST.
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { makeConfig, parameterShapes, type GPTConfig } from '../../src/model/config';
import { GPT } from '../../src/model/gpt';
import type { GpuRuntime } from '../../src/gpu';
import { sequenceLogprobs, sequenceScalars } from '../../src/rlhf/forward';
import { encodeQuery, packSequences } from '../../src/rlhf/sequences';

/** Ids: 0 BOS, 1 EOS, 2 PAD, 3 SEP, 4 UNK, 5 a, 6 b, 7 c, 8 d. */
export const tok = CharTokenizer.fromText('abcd');
export const REWARDED = 'a';
const X = tok.encode(REWARDED)[0];
export const config = makeConfig('nano', { vocabSize: tok.vocabSize, dropout: 0 });
/** The reward model's score of a response that starts with "a" (0 otherwise). */
export const REWARD = 2;
export const PROMPT_LENGTH = 3;
/** Position of the first response token in [BOS, prompt…, SEP, response…]. */
const FIRST = PROMPT_LENGTH + 2;
export const TRAIN_PROMPTS = ['bcd', 'cdb', 'dbc', 'bcb', 'ccb', 'dbd', 'bdc', 'cbd', 'ddc', 'bcc', 'cdd', 'dcb', 'bbd', 'cbc', 'dbb', 'ccd'];
export const HELDOUT_PROMPTS = ['bdd', 'ccc', 'dcd', 'bbc'];

/** The first-token detector's weights (see the header), its score head scaled by `gain` and shifted by `bias`. */
function detectorWeights(cfg: GPTConfig, gain: number, bias: number): Record<string, Float32Array> {
  const { vocabSize: V, dModel: C, contextLength, nLayer } = cfg;
  const w: Record<string, Float32Array> = {};
  for (const p of parameterShapes(cfg, 'score')) w[p.name] = new Float32Array(p.shape.reduce((a, b) => a * b, 1));
  // Residual channels: IS_A, then one-hot token channels 1…V, the ±2 background on 10…29, AT_FIRST, OUT.
  const IS_A = 0;
  const AT_FIRST = C - 2;
  const OUT = C - 1;
  if (1 + V > 10) throw new Error('detectorWeights: the vocabulary overlaps the background channels');
  for (let t = 0; t < V; t++) w.wte[t * C + 1 + t] = 1;
  w.wte[X * C + IS_A] = 1;
  for (let p = 0; p < contextLength; p++) for (let d = 10; d < 30; d++) w.wpe[p * C + d] = d % 2 === 0 ? 2 : -2;
  w.wpe[FIRST * C + AT_FIRST] = 1;
  for (let i = 0; i < nLayer; i++) {
    w[`h.${i}.ln_1.weight`].fill(1);
    w[`h.${i}.ln_2.weight`].fill(1);
  }
  // c_attn (C, 3C) = [q | k | v]; head 0 uses columns 0, C and 2C. Everything else in every block stays 0.
  const qkv = w['h.0.attn.c_attn.weight'];
  w['h.0.attn.c_attn.bias'][0] = 1; // q: constant
  qkv[AT_FIRST * 3 * C + C] = 80; // k: LN(x)[AT_FIRST] ≈ 0.6 at FIRST, ≈ 0 elsewhere → logit ≈ 80·0.6/√16 = 12
  qkv[IS_A * 3 * C + 2 * C] = 1; // v: LN(x)[IS_A] ≈ 0.6 for "a", ≈ 0 otherwise
  w['h.0.attn.c_proj.weight'][0 * C + OUT] = 4;
  w['ln_f.weight'].fill(1);
  w['score.weight'][OUT] = gain;
  w['score.bias'][0] = bias;
  return w;
}

/** The reward model's score of each response (text, EOS appended) to `prompt`. */
export async function scores(rm: GPT, prompt: string, responses: readonly string[]): Promise<number[]> {
  return scoresOfIds(rm, prompt, responses.map((r) => Uint32Array.from([...tok.encode(r), tok.special.eos])));
}

/** The reward model's score of each response to `prompt`, given as token ids (EOS included where it ended). */
export async function scoresOfIds(rm: GPT, prompt: string, responses: readonly Uint32Array[]): Promise<number[]> {
  const q = encodeQuery(tok, prompt, config.contextLength);
  const batch = packSequences(responses.map(() => q), responses, tok.special.pad, config.contextLength);
  const grid = await sequenceScalars(rm, batch);
  return Array.from(batch.last, (t, b) => grid[b * batch.T + t]);
}

/** The detector scaled so that a response starting with "a" scores REWARD and any other 0. */
export async function rewardModelWeights(rt: GpuRuntime): Promise<Record<string, Float32Array>> {
  const raw = GPT.create(rt, config, { weights: detectorWeights(config, 1, 0), head: 'score' });
  let s0: number, s1: number;
  try {
    [s0, s1] = await scores(raw, 'bcd', ['b', REWARDED]);
  } finally {
    raw.dispose();
  }
  const gain = REWARD / (s1 - s0);
  return detectorWeights(config, gain, -s0 * gain);
}

/** Mean log π(first response token = "a" | [BOS, prompt, SEP]) over `prompts`. */
export async function logprobOfRewarded(policy: GPT, prompts: readonly string[]): Promise<number> {
  const queries = prompts.map((p) => encodeQuery(tok, p, config.contextLength));
  const batch = packSequences(queries, queries.map(() => Uint32Array.of(X)), tok.special.pad, config.contextLength);
  const grid = await sequenceLogprobs(policy, batch);
  return Array.from(batch.start, (t, b) => grid[b * batch.T + t]).reduce((a, x) => a + x, 0) / prompts.length;
}

