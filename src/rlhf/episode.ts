// A sampled completion of an RL stage's iteration as the samples view and the command line's episodes.jsonl show it:
// PPO's episodes, GRPO's and RLOO's completions (those with the `group` of their prompt).

export interface Episode {
  prompt: string;
  response: string;
  /** Its training reward: the reward source's score, or the missing-EOS penalty. */
  score: number;
  gold: number | undefined;
  finished: boolean;
  /** A group method's: the index of its prompt's group in the iteration (the completions it was compared with). */
  group?: number;
  /**
   * Per response token: text, KL contribution (log π − log π_SFT; NaN without a reference, at β = 0), advantage (a
   * group method's is the completion's own on every token), log-prob.
   */
  tokens: string[];
  kl: number[];
  advantages: number[];
  logprobs: number[];
}
