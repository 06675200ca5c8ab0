// The RL trainers' rollout (PPO's, the group methods'): the policy's own samples, at temperature 1 with top-k and
// top-p off so that the sampled distribution is π itself (truncated sampling shows up as a negative KL).
import { generate } from '../model/generate';
import type { GPT } from '../model/gpt';
import type { Tokenizer } from '../model/tokenizer';
import { packSequences } from './sequences';

/** Samples one response to each query (at most maxResponseTokens, EOS ends it) and packs query + response rows. */
export async function sampleRollout(policy: GPT, tok: Tokenizer, queries: readonly Uint32Array[], maxResponseTokens: number, seed: number) {
  const rollout = await generate(policy, {
    prompts: queries,
    maxNewTokens: maxResponseTokens,
    temperature: 1,
    topK: 0,
    topP: 1,
    seed,
    eos: tok.special.eos,
  });
  const batch = packSequences(queries, rollout.ids, tok.special.pad, policy.config.contextLength);
  const texts = rollout.ids.map((r) => tok.decode(r, { specials: 'drop' }));
  return { rollout, batch, texts };
}
