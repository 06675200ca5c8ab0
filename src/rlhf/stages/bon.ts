// Best-of-N from the SFT policy with the reward model: the training-free baseline, with a closed-form KL bound.
import type { PresetName } from '../../model/config';
import type { StagePlan } from '../memory';
import { COLORS } from './shared';
import type { StageConfig, StageDescriptor } from './types';

/** Best-of-N on held-out prompts: N up to maxN. */
export interface BestOfNSettings {
  readonly maxN: number;
  readonly prompts: number;
}

const DEFAULTS: Readonly<Record<PresetName, BestOfNSettings>> = {
  nano: { maxN: 4, prompts: 4 },
  tiny: { maxN: 16, prompts: 32 },
  small: { maxN: 64, prompts: 64 },
};

export const bon = {
  id: 'bon',
  name: 'Best-of-N',
  produces: 'measurement',
  reads: ['sft', 'reward-model'],
  byDefault: true,
  lengthSettings: ['bon.prompts', 'bon.maxN'],
  // N responses of the SFT policy per prompt, the reward model picks; its KL is the closed-form bound.
  diagram: { lit: ['prompts', 'policy', 'responses', 'reward-model'], numbers: { reward: 'bon/proxy', kl: 'bon/kl_bound' } },
  config: [
    {
      section: 'bon',
      defaults: (preset) => DEFAULTS[preset],
      fields: {
        maxN: { kind: 'int', min: 1, max: 1024, meaning: 'largest N (N = 1, 2, 4, … up to it): samples per prompt the reward model picks its favourite from' },
        prompts: { kind: 'int', min: 1, max: 10_000, meaning: 'held-out prompts best-of-N answers' },
      },
    } as const satisfies StageConfig<BestOfNSettings>,
  ],
  metrics: {
    'bon/win_rate': {
      label: 'Best-of-N win rate vs SFT',
      meaning: 'Fraction of prompts where the best of N = bon.maxN samples beats one SFT sample (the first of the same pool) by gold reward (ties count ½).',
      healthy: 'Above 0.5; compare with the trained policies’ win rates at their KL.',
    },
    'bon/win_rate_lo': {
      label: 'Best-of-N win rate 95% CI low',
      meaning: 'Lower end of the 95% Wilson confidence interval of the best-of-N win rate.',
    },
    'bon/win_rate_hi': {
      label: 'Best-of-N win rate 95% CI high',
      meaning: 'Upper end of the 95% Wilson confidence interval of the best-of-N win rate.',
    },
    'bon/verifier_rate': {
      label: 'Best-of-N exact-answer rate',
      meaning: 'Share of the best-of-N (N = bon.maxN) responses that the task’s verifier accepts as exactly right (tasks with a verifier only).',
    },
    'bon/proxy': {
      label: 'Best-of-N RM score',
      meaning: 'Mean RM (proxy) score of the RM-preferred response out of N samples of the SFT policy.',
      healthy: 'Rises with N.',
    },
    'bon/gold': {
      label: 'Best-of-N gold reward',
      meaning: 'Mean hidden gold reward of the RM-preferred response out of N samples.',
      healthy: 'Rises with N, then flattens or falls as the RM is over-optimized (Gao et al.).',
    },
    'bon/kl_bound': {
      label: 'Best-of-N KL bound',
      meaning: 'Upper bound on KL(best-of-N ‖ SFT): log N − (N − 1)/N.',
      unit: 'nats',
    },
  },
  policy: { color: COLORS.orange, points: { kl: 'bon/kl_bound', proxy: 'bon/proxy', gold: 'bon/gold' } },
  teaching: {
    title: 'Best-of-N',
    what: 'Samples N responses from the SFT policy and keeps the reward model’s favourite, for N = 1, 2, 4, … .',
    why: 'The simplest way to use a reward model, with no training: a baseline for every trained method. Its KL from the SFT policy is bounded in closed form, so it draws points on the reward-vs-√KL frontier the trained policies are compared with.',
    healthy: 'The proxy reward rises with N; the gold reward rises too, then flattens or falls for large N (over-optimization, Gao et al. 2022). At the same √KL, a trained policy should do at least as well.',
    formulas: [
      {
        title: 'Best-of-N KL',
        text: 'KL(π_BoN ‖ π_SFT) ≤ log N − (N − 1)/N',
        symbols: [['N', 'samples drawn from the SFT policy; the reward model keeps its favourite']],
        source: 'Stiennon et al. 2020; Beirami et al. 2024 (it is an upper bound)',
      },
    ],
    metrics: ['bon/proxy', 'bon/gold', 'bon/kl_bound'],
  },
  memory: ({ model, sampling, forward }, c): StagePlan => ({
    resident: [model('the SFT policy'), model('the reward model', 'score')],
    phases: [sampling('sampling', 'bon.maxN', c.bon.prompts * c.bon.maxN), forward('scoring', 'bon.maxN', c.bon.maxN, 'scalar')],
  }),
  trl: { notRerun: 'best-of-N is a measurement, not training: not rerun' },
  run: async (ctx) => (await import('./bon-run')).runBestOfN(ctx),
} as const satisfies StageDescriptor;
