// Evaluation: every policy the run trained, and SFT, answer the same held-out prompts; the hidden gold reward judges
// each against SFT (win rate with a 95% interval), next to its proxy score, its KL to SFT and, where the task has a
// verifier, its exact-answer rate — and with eval.passK its pass@k: how often k tries hold an exact answer.
import type { PresetName } from '../../model/config';
import type { StagePlan } from '../memory';
import type { StageConfig, StageDescriptor } from './types';

/** Win-rate evaluation on held-out prompts. */
export interface EvaluationSettings {
  readonly prompts: number;
  readonly passK: number;
}

const DEFAULTS: Readonly<Record<PresetName, EvaluationSettings>> = {
  nano: { prompts: 8, passK: 0 },
  tiny: { prompts: 64, passK: 0 },
  small: { prompts: 128, passK: 0 },
};

export const evaluation = {
  id: 'eval',
  name: 'Evaluate',
  produces: 'measurement',
  reads: ['sft'],
  readsIfPresent: ['reward-model'],
  byDefault: true,
  lengthSettings: ['eval.prompts'],
  // k pass@k samples a prompt cost about 0.7 × k evaluations of one sample each (tiny, instructions, SwiftShader: 3.7 s
  // for SFT and GRPO at eval.passK = 0, 45.6 s at 16).
  lengthFactor: (c): number => 1 + 0.7 * c.eval.passK,
  // Each policy against SFT on held-out prompts (PPO's numbers on the arrows), scored by the reward model and the gold.
  diagram: { lit: ['policy', 'reward-model', 'reference'], numbers: { reward: 'eval/proxy_ppo', kl: 'eval/kl_ppo' } },
  config: [
    {
      section: 'eval',
      defaults: (preset) => DEFAULTS[preset],
      fields: {
        prompts: { kind: 'int', min: 1, max: 10_000, meaning: 'held-out prompts every policy and SFT answer (one sample each) for the win rates' },
        passK: { kind: 'int', min: 0, max: 256, meaning: 'k: with a verifier, k more answers of every policy and SFT to each held-out prompt, for pass@k (the share of prompts with an exact answer among the k) and pass@1 over them; 0: off' },
      },
    } as const satisfies StageConfig<EvaluationSettings>,
  ],
  metrics: {
    'eval/gold_sft': {
      label: 'Gold reward (SFT)',
      meaning: 'Mean hidden gold reward of the SFT policy on the evaluation prompts.',
    },
    'eval/proxy_sft': {
      label: 'RM score (SFT)',
      meaning: "Mean reward-model score of the SFT policy's responses on the evaluation prompts.",
    },
    'eval/verifier_rate_sft': {
      label: 'Exact-answer rate (SFT)',
      meaning: "Share of the SFT policy's responses on the evaluation prompts that the task's verifier accepts as exactly right (tasks with a verifier only).",
    },
    'eval/pass_at_k_sft': {
      label: 'pass@k (SFT)',
      meaning: 'With eval.passK = k: the share of the evaluation prompts where at least one of k SFT answers is exactly right: RL with a verifier mostly raises pass@1 toward it.',
    },
    'eval/pass_at_1_sft': {
      label: 'pass@1 (SFT)',
      meaning: 'With eval.passK = k: the share of the k SFT answers per evaluation prompt that are exactly right (the exact-answer rate, from k samples instead of one).',
    },
  },
  teaching: {
    title: 'Evaluation',
    what: 'Samples the SFT policy and every trained policy (PPO’s EMA weights, DPO’s, …) on the same held-out prompts and compares each with SFT by the hidden gold reward: a win rate with a confidence interval, the proxy score and the KL to SFT.',
    why: 'The reward model is what the methods optimised, so it cannot judge them fairly; the gold reward stands in for people’s preference (InstructGPT’s headline: 85 ± 3% preferred over GPT-3). One judge and one set of prompts put every method on one frontier.',
    healthy: 'A win rate above 0.5 with its interval above 0.5. A high RM score with a win rate at or below 0.5 means the policy learned to please the reward model, not the gold.',
    formulas: [],
    metrics: ['eval/win_rate_ppo', 'eval/gold_sft', 'eval/gold_ppo', 'eval/proxy_ppo'],
  },
  memory: ({ model, sampling, forward }, c): StagePlan => ({
    resident: [model('the SFT policy'), model('a trained policy'), model('the reward model', 'score')],
    phases: [
      sampling('sampling', 'eval.prompts', c.eval.prompts),
      forward('scoring', 'eval.prompts', c.eval.prompts, 'logprob'),
      ...(c.eval.passK > 0 ? [sampling('sampling for pass@k', 'eval.passK', c.eval.prompts * c.eval.passK)] : []),
    ],
  }),
  trl: { notRerun: 'the evaluation (win rates against SFT by the gold reward) is the lab’s own: not rerun' },
  run: async (ctx) => (await import('./eval-run')).runEvaluation(ctx),
} as const satisfies StageDescriptor;
