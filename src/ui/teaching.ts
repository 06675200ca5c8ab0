// The lab's teaching text: for every pipeline stage what it is, why it is there and what a healthy run shows, and
// the objectives written out as formulas (plain text with Unicode, each symbol explained). Sources: InstructGPT
// (Ouyang et al. 2022, §3.5 and Appendix C), Ziegler et al. 2019 (the per-token KL penalty, the adaptive KL
// controller), "The N Implementation Details of RLHF with PPO" (Huang et al.) and Hugging Face TRL's docs (healthy
// ranges), Gao, Schulman & Hilton 2022 (over-optimization), /work/shared/rlhf-recipe.md for the numbers.
// Metric meanings live with the metrics themselves (src/rlhf/metrics.ts METRICS); Explain.tsx shows both.
import type { MetricName } from '../rlhf/metrics';
import type { PipelineStage } from '../rlhf/pipeline';

export interface StageTeaching {
  title: string;
  /** What the stage does, in a sentence or two. */
  what: string;
  /** Why the recipe has it. */
  why: string;
  /** What a healthy run shows (and what an unhealthy one looks like). */
  healthy: string;
  /** The formulas (FORMULAS keys) that belong to it. */
  formulas: FormulaId[];
  /** The metrics to watch in it. */
  metrics: MetricName[];
}

export interface Formula {
  title: string;
  /** The formula as plain text. */
  text: string;
  /** Each symbol and what it stands for. */
  symbols: readonly (readonly [symbol: string, meaning: string])[];
  /** Where it comes from. */
  source: string;
}

export type FormulaId = 'lmLoss' | 'rmLoss' | 'klReward' | 'ppoClip' | 'ppoPtx' | 'bonKl';

export const FORMULAS: Readonly<Record<FormulaId, Formula>> = {
  lmLoss: {
    title: 'Language-model loss',
    text: 'loss(θ) = −1/N · Σₜ log π_θ(yₜ | x, y₍<ₜ₎)',
    symbols: [
      ['x', 'the prompt (SFT: no loss on its tokens)'],
      ['yₜ', 'the t-th target token; N of them'],
      ['π_θ', 'the model’s next-token distribution'],
    ],
    source: 'Radford et al. 2019 (GPT-2); InstructGPT §3.5 for SFT',
  },
  rmLoss: {
    title: 'Reward-model loss',
    text: 'loss(θ) = −1/C(K,2) · E₍x, y_w, y_l₎ [ log σ( r_θ(x, y_w) − r_θ(x, y_l) ) ]',
    symbols: [
      ['K', 'completions ranked for one prompt (4…9 in InstructGPT; 2 when you label pairs)'],
      ['C(K,2)', 'the K(K−1)/2 pairs of one ranking, all in one batch element'],
      ['y_w, y_l', 'the preferred and the less preferred completion of a pair'],
      ['r_θ(x, y)', 'the scalar the reward model reads at the final token of prompt + completion'],
      ['σ', 'the logistic function 1/(1 + e^(−z)): the Bradley–Terry probability that y_w wins'],
    ],
    source: 'InstructGPT (Ouyang et al. 2022), eq. 1',
  },
  klReward: {
    title: 'Reward with the KL penalty (per token)',
    text: 'R(x, y) = r_φ(x, y) − β · Σₜ log( π_RL(yₜ | x, y₍<ₜ₎) / π_SFT(yₜ | x, y₍<ₜ₎) )',
    symbols: [
      ['r_φ(x, y)', 'the reward model’s score, given at the last token of the response'],
      ['β', 'the KL coefficient (0.02 in InstructGPT; adapted toward a target KL by Ziegler et al.’s controller)'],
      ['π_RL, π_SFT', 'the policy being trained and the frozen SFT policy'],
    ],
    source: 'Ziegler et al. 2019; InstructGPT §3.5',
  },
  ppoClip: {
    title: 'PPO clipped surrogate',
    text: 'L_pg = E[ max( −A·ρ, −A·clip(ρ, 1 − ε, 1 + ε) ) ],   ρ = π_θ(yₜ|·) / π_old(yₜ|·)',
    symbols: [
      ['A', 'the whitened GAE advantage (γ = 1, λ = 0.95)'],
      ['ρ', 'the probability ratio of the new and the rollout policy'],
      ['ε', 'the clip range, 0.2'],
    ],
    source: 'Schulman et al. 2017; Huang et al., The N Implementation Details of RLHF with PPO',
  },
  ppoPtx: {
    title: 'PPO-ptx objective (maximised)',
    text: 'objective(φ) = E₍x, y ~ π_RL₎ [ r_θ(x, y) − β · log( π_RL(y | x) / π_SFT(y | x) ) ] + γ · E₍x ~ D_pretrain₎ [ log π_RL(x) ]',
    symbols: [
      ['r_θ(x, y)', 'the reward model’s score of the sampled response'],
      ['β · log(π_RL / π_SFT)', 'the KL penalty that keeps the policy near the SFT model'],
      ['γ', 'the pretraining-mix coefficient (27.8 in InstructGPT; γ = 0 is plain “PPO”)'],
      ['D_pretrain', 'pretraining text: keeps the model’s general language ability (fewer regressions)'],
    ],
    source: 'InstructGPT (Ouyang et al. 2022), eq. 2',
  },
  bonKl: {
    title: 'Best-of-N KL',
    text: 'KL(π_BoN ‖ π_SFT) ≤ log N − (N − 1)/N',
    symbols: [
      ['N', 'samples drawn from the SFT policy; the reward model keeps its favourite'],
    ],
    source: 'Stiennon et al. 2020; Beirami et al. 2024 (it is an upper bound)',
  },
};

export const STAGE_TEACHING: Readonly<Record<PipelineStage, StageTeaching>> = {
  pretrain: {
    title: 'Pretraining',
    what: 'Next-token prediction on plain text (short stories): the model learns the language before it learns the task.',
    why: 'Everything later starts from this model. The lab ships a pretrained tiny model; the nano and small presets pretrain their own.',
    healthy: 'The loss falls fast and then flattens. A loss that stops near log(vocabulary size) means the model learned nothing; NaN means the learning rate is too high.',
    formulas: ['lmLoss'],
    metrics: ['loss', 'lr', 'grad_norm'],
  },
  sft: {
    title: 'Supervised fine-tuning (SFT)',
    what: 'Fine-tunes the base model on demonstrations (prompt → good response), with the loss on the response tokens only.',
    why: 'It teaches the format and a first version of the behaviour, and gives PPO its starting policy and the KL anchor π_SFT. InstructGPT fine-tuned for 16 epochs and chose the model by reward-model score, not by validation loss.',
    healthy: 'Training loss and held-out loss both fall and stay close; token accuracy rises. Held-out loss far above training loss means the demonstrations were memorised.',
    formulas: ['lmLoss'],
    metrics: ['loss', 'sft/heldout_loss', 'mean_token_accuracy', 'entropy'],
  },
  rm: {
    title: 'Reward model',
    what: 'Labelers (simulated, or you) rank K samples of the SFT policy per prompt; a copy of the SFT model with a scalar head learns to score the preferred ones higher, all C(K,2) pairs of a prompt in one batch element, for one epoch.',
    why: 'People cannot score every PPO sample, so a learned reward stands in for them. It is only a proxy: it inherits the labelers’ noise (InstructGPT’s agreed 72.6% of the time) and can be exploited.',
    healthy: 'The loss starts at log 2 ≈ 0.693 and falls; training and held-out accuracy rise above 0.5 and stay close, capped near the labelers’ own agreement. Agreement with the hidden gold reward can be higher than with the noisy labels.',
    formulas: ['rmLoss'],
    metrics: ['rm/loss', 'rm/accuracy', 'rm/heldout_accuracy', 'rm/inter_labeler_agreement', 'rm/gold_agreement', 'rm/labeler_gold_agreement', 'rm/margin'],
  },
  ppo: {
    title: 'PPO against the reward model',
    what: 'The policy samples responses, the reward model scores them, a per-token KL penalty to the SFT model is subtracted, and PPO (clipped, with a value model initialised from the reward model) updates the policy; optionally with pretraining text mixed in (PPO-ptx).',
    why: 'Sampling and scoring lets the policy improve beyond the demonstrations. The KL penalty stops it from drifting into text the reward model was never trained on, where its scores mean nothing.',
    healthy: 'The RM score and rlhf_reward rise; KL grows slowly (usually below 10 nats); the ratio stays near 1 and clipfrac small; the value loss falls. RM score rising while the gold reward falls is reward hacking; negative KL, a ratio far from 1 or a NaN value loss stop the run.',
    formulas: ['klReward', 'ppoClip', 'ppoPtx'],
    metrics: ['objective/scores', 'objective/kl', 'objective/rlhf_reward', 'policy/approxkl', 'policy/clipfrac', 'val/ratio', 'loss/value'],
  },
  bon: {
    title: 'Best-of-N',
    what: 'Samples N responses from the SFT policy and keeps the reward model’s favourite, for N = 1, 2, 4, … .',
    why: 'The simplest way to use a reward model, with no training: a baseline for PPO. Its KL from the SFT policy is known in closed form, so it draws the reward-vs-√KL frontier PPO is compared with.',
    healthy: 'The proxy reward rises with N; the gold reward rises too, then flattens or falls for large N (over-optimization, Gao et al. 2022). At the same √KL, PPO should do at least as well.',
    formulas: ['bonKl'],
    metrics: ['bon/proxy', 'bon/gold', 'bon/kl_bound'],
  },
  eval: {
    title: 'Evaluation',
    what: 'Samples the SFT and the PPO policy (EMA weights) on held-out prompts and compares them by the hidden gold reward: the win rate of PPO over SFT, with a confidence interval.',
    why: 'The reward model is what PPO optimised, so it cannot judge PPO fairly; the gold reward stands in for people’s preference (InstructGPT’s headline: 85 ± 3% preferred over GPT-3).',
    healthy: 'A win rate above 0.5 with its interval above 0.5. A high RM score with a win rate at or below 0.5 means the policy learned to please the reward model, not the gold.',
    formulas: [],
    metrics: ['eval/win_rate', 'eval/gold_sft', 'eval/gold_ppo', 'eval/proxy_ppo'],
  },
};
