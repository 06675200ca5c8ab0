// Direct preference optimisation: the policy learns from the same rankings the reward model trains on, with no
// reward model and no sampling while it trains — sigmoid DPO (Rafailov et al. 2023) or IPO (Azar et al. 2023),
// chosen by dpo.loss. src/rlhf/dpo.ts has the loop and its implementation details.
import type { PresetName } from '../../model/config';
import type { StagePlan } from '../memory';
import { COLORS, evaluationMetrics, FRONTIER_METRICS, FRONTIER_TRAJECTORY, OPTIMIZER_METRICS, rewardChart } from './shared';
import type { StageConfig, StageDescriptor } from './types';

export interface DPOSettings {
  readonly loss: 'sigmoid' | 'ipo';
  readonly beta: number;
  readonly lr: number;
  readonly epochs: number;
  readonly groupsPerStep: number;
  readonly warmup: number;
  readonly evalEvery: number;
  readonly evalPrompts: number;
}

const DEFAULTS: Readonly<Record<PresetName, DPOSettings>> = {
  nano: { loss: 'sigmoid', beta: 0.1, lr: 1e-3, epochs: 2, groupsPerStep: 2, warmup: 0, evalEvery: 2, evalPrompts: 4 },
  tiny: { loss: 'sigmoid', beta: 0.1, lr: 1e-4, epochs: 2, groupsPerStep: 4, warmup: 4, evalEvery: 8, evalPrompts: 32 },
  small: { loss: 'sigmoid', beta: 0.1, lr: 3e-5, epochs: 1, groupsPerStep: 8, warmup: 8, evalEvery: 8, evalPrompts: 64 },
};

export const dpo = {
  id: 'dpo',
  name: 'DPO',
  produces: 'policy',
  reads: ['sft'],
  readsIfPresent: ['reward-model'],
  writes: 'dpo',
  // Trains on the reward model's preference data, so the labels' settings matter even without a reward model.
  dependsOn: ['labels'],
  byDefault: false,
  lengthSettings: ['labels.prompts', 'dpo.epochs'],
  // No reward model or sampling while it trains: the policy against the SFT reference; its held-out checks log the KL and
  // (with a reward model) the proxy score of its samples.
  diagram: { lit: ['policy', 'reference', 'update'], numbers: { reward: 'objective/scores', kl: 'objective/kl' } },
  config: [
    {
      section: 'dpo',
      defaults: (preset) => DEFAULTS[preset],
      fields: {
        loss: { kind: 'choice', options: ['sigmoid', 'ipo'], meaning: 'sigmoid: DPO’s −log σ(β·h); ipo: IPO’s squared loss (h − 1/(2β))², which stays bounded when preferences are deterministic' },
        beta: { kind: 'number', min: 0, max: 100, minOpen: true, meaning: 'β: how strongly the policy is held to the SFT reference (larger: closer); the implicit reward is β·log(π/π_ref)' },
        lr: { kind: 'number', min: 0, max: 1, minOpen: true, meaning: 'learning rate of AdamW (constant after the warm-up)' },
        epochs: { kind: 'int', min: 1, max: 100, meaning: 'passes over the training rankings' },
        groupsPerStep: { kind: 'int', min: 1, max: 1024, meaning: 'rankings (prompts) per optimizer step; each ranking is all its C(K,2) pairs' },
        warmup: { kind: 'int', min: 0, max: 1_000_000, meaning: 'optimizer steps of linear learning-rate warm-up' },
        evalEvery: { kind: 'int', min: 1, max: 1_000_000, meaning: 'optimizer steps between held-out checks (KL, proxy and gold of samples, held-out pair accuracy)' },
        evalPrompts: { kind: 'int', min: 1, max: 10_000, meaning: 'held-out prompts sampled at each check' },
      },
    } as const satisfies StageConfig<DPOSettings>,
  ],
  metrics: {
    ...OPTIMIZER_METRICS,
    ...FRONTIER_METRICS,
    'loss/dpo': {
      label: 'DPO loss',
      meaning: 'Preference loss over all C(K,2) pairs of each ranking, mean over rankings: −log σ(β·h) (sigmoid) or (h − 1/(2β))² (IPO), h the chosen response’s log-ratio to the reference minus the rejected one’s.',
      healthy: 'Sigmoid starts at log 2 ≈ 0.693 and falls; IPO starts at 1/(4β²) and falls.',
    },
    'rewards/chosen': {
      label: 'Implicit reward (chosen)',
      meaning: 'β·log(π(y_w|x)/π_ref(y_w|x)) of the preferred response of each pair, mean over pairs (TRL’s name).',
      healthy: 'Stays near 0 or rises; both rewards falling together is the usual DPO drift (likelihood of both drops).',
    },
    'rewards/rejected': {
      label: 'Implicit reward (rejected)',
      meaning: 'β·log(π(y_l|x)/π_ref(y_l|x)) of the less preferred response of each pair, mean over pairs.',
      healthy: 'Falls below rewards/chosen.',
    },
    'rewards/accuracies': {
      label: 'Implicit reward accuracy',
      meaning: 'Fraction of training pairs whose chosen response has the larger implicit reward.',
      healthy: 'Rises above 0.5; near 1 on the training pairs means they are fitted (watch the held-out one).',
    },
    'rewards/margins': {
      label: 'Implicit reward margin',
      meaning: 'rewards/chosen − rewards/rejected, mean over training pairs.',
      healthy: 'Grows; with sigmoid DPO and noiseless labels it can grow without bound (and the KL with it).',
    },
    'logps/chosen': {
      label: 'Log-prob (chosen)',
      meaning: 'log π(y_w|x) summed over the preferred response’s tokens, mean over pairs.',
      unit: 'nats',
    },
    'logps/rejected': {
      label: 'Log-prob (rejected)',
      meaning: 'log π(y_l|x) summed over the less preferred response’s tokens, mean over pairs.',
      unit: 'nats',
    },
    'eval_rewards/accuracies': {
      label: 'Held-out implicit reward accuracy',
      meaning: 'Fraction of held-out pairs (the reward model’s held-out rankings) whose preferred response has the larger implicit reward: compare with rm/heldout_accuracy.',
      healthy: 'Above 0.5 and rising; near the reward model’s held-out accuracy.',
    },
    'eval_rewards/margins': {
      label: 'Held-out implicit reward margin',
      meaning: 'Implicit reward of the preferred minus the less preferred response, mean over held-out pairs.',
      healthy: 'Positive and rising; falling while the training margin rises is overfitting.',
    },
    ...evaluationMetrics('dpo', 'DPO'),
  },
  policy: { color: COLORS.green, trajectory: FRONTIER_TRAJECTORY },
  charts: [
    rewardChart('DPO reward: proxy and gold (held-out samples)'),
    {
      title: 'DPO loss and implicit-reward accuracy',
      lines: [
        { metric: 'loss/dpo', color: COLORS.blue },
        { metric: 'rewards/accuracies', label: 'Accuracy (training pairs)', color: COLORS.green, axis: 'right' },
        { metric: 'eval_rewards/accuracies', label: 'Accuracy (held-out pairs)', color: COLORS.teal, axis: 'right' },
      ],
    },
    {
      title: 'DPO implicit rewards',
      lines: [
        { metric: 'rewards/chosen', color: COLORS.green },
        { metric: 'rewards/rejected', color: COLORS.red },
        { metric: 'rewards/margins', color: COLORS.purple },
      ],
    },
    {
      title: 'DPO: KL to the SFT policy',
      lines: [{ metric: 'objective/kl', color: COLORS.purple }],
    },
  ],
  teaching: {
    title: 'Direct preference optimisation (DPO / IPO)',
    what: 'Trains the SFT policy directly on the rankings — every pair of a ranking says “this response over that one” — raising the preferred response’s log-probability relative to the frozen SFT reference and lowering the other’s. No reward model and no sampling while it trains.',
    why: 'The KL-regularised RL objective PPO optimises has a closed-form optimum, π*(y|x) ∝ π_SFT(y|x)·exp(r(x,y)/β); DPO substitutes it into the reward model’s Bradley–Terry loss, so the policy itself is the reward model. IPO replaces the log-sigmoid by a squared loss that stops at a margin of 1/(2β), because with deterministic preferences sigmoid DPO’s optimum pushes the KL to infinity (Azar et al.).',
    healthy: 'The loss falls, rewards/accuracies and the margin rise, the held-out accuracy rises above 0.5 and approaches the reward model’s; the KL to SFT grows slowly. Held-out accuracy falling while the training margin grows is overfitting to the labels.',
    formulas: [
      {
        title: 'DPO loss',
        text: 'loss(θ) = −E₍x, y_w, y_l₎ [ log σ( β · h ) ],   h = log( π_θ(y_w|x) / π_ref(y_w|x) ) − log( π_θ(y_l|x) / π_ref(y_l|x) )',
        symbols: [
          ['y_w, y_l', 'the preferred and the less preferred response of a pair (all C(K,2) pairs of a ranking)'],
          ['π_ref', 'the frozen SFT policy'],
          ['β', 'the strength of the pull toward π_ref (dpo.beta, 0.1)'],
          ['β·log(π_θ/π_ref)', 'the implicit reward (rewards/chosen, rewards/rejected)'],
        ],
        source: 'Rafailov et al. 2023, eq. 7',
      },
      {
        title: 'IPO loss',
        text: 'loss(θ) = E₍x, y_w, y_l₎ [ ( h − 1/(2β) )² ]',
        symbols: [
          ['h', 'the same log-ratio difference as in DPO'],
          ['1/(2β)', 'the margin IPO aims for instead of pushing h to infinity'],
        ],
        source: 'Azar et al. 2023 (ΨPO with Ψ the identity), eq. 17',
      },
    ],
    metrics: ['loss/dpo', 'rewards/accuracies', 'rewards/margins', 'eval_rewards/accuracies', 'objective/kl', 'objective/gold'],
  },
  // The preference data first (unless the reward model's stage made it), then the policy, its reference and
  // optimizer, and the reward model when present (the checks' proxy scores) through training and the checks.
  memory: ({ T, trainRankings, heldoutRows, model, trained, training, forward, sampling, labelerSampling, holding }, c): StagePlan => {
    const d = c.dpo;
    const rows = Math.min(d.groupsPerStep, trainRankings) * c.labels.k;
    return {
      resident: [],
      phases: [
        labelerSampling(),
        ...holding(
          [model('the policy'), model('the reference policy'), model('the reward model', 'score'), trained("the policy's optimizer")],
          [
            forward("the reference's log-probabilities", 'dpo.groupsPerStep', rows, 'logprob'),
            training('a training step', 'dpo.groupsPerStep', rows * T, 'logprob', 1), // the reference log-probabilities
            forward('held-out rankings', 'labels.k', heldoutRows, 'logprob'),
            sampling('sampling at a check', 'dpo.evalPrompts', d.evalPrompts),
            forward('scoring at a check', 'dpo.evalPrompts', d.evalPrompts, 'logprob'),
          ],
        ),
      ],
    };
  },
  trl: { load: () => import('./dpo-trl') },
  run: async (ctx) => (await import('./dpo-run')).runDpo(ctx),
} as const satisfies StageDescriptor;
