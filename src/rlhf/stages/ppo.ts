// PPO against the reward model with a per-token KL penalty to the SFT policy (InstructGPT's RL stage);
// src/rlhf/ppo.ts has the algorithm and its implementation details.
import type { PresetName } from '../../model/config';
import type { StagePlan } from '../memory';
import type { PPOConfig } from '../ppo';
import type { RewardSourceKind } from '../reward-source-kinds';
import { COLORS, evaluationMetrics, FRONTIER_METRICS, FRONTIER_TRAJECTORY, KL_PENALTY_METRIC, OPTIMIZER_METRICS, rewardChart, promptSourceSetting, type PromptSourceKind, rewardSourceModels, rewardSourceSetting } from './shared';
import type { StageConfig, StageDescriptor } from './types';

/** The PPO trainer's settings, the run's length in episodes and where its reward and prompts come from. */
export type PPOSettings = Readonly<PPOConfig> & { readonly episodes: number; readonly rewardSource: RewardSourceKind; readonly promptSource: PromptSourceKind };

const COMMON: Omit<PPOConfig, 'batchSize' | 'miniBatches' | 'maxResponseTokens' | 'lr' | 'valueLr' | 'ptxBatchSize'> = {
  epochs: 1, // InstructGPT's one inner epoch (TRL uses 4)
  warmupIterations: 2,
  clip: 0.2,
  valueClip: 0.2,
  vfCoef: 0.1,
  gamma: 1,
  lambda: 0.95,
  klCoef: 0.05,
  klEstimator: 'k1',
  adaptiveKL: null,
  noEosPenalty: -1,
  ptxCoef: 0,
  emaDecay: 0.992,
  gradClip: 1,
};

const DEFAULTS: Readonly<Record<PresetName, PPOSettings>> = {
  nano: { ...COMMON, batchSize: 8, miniBatches: 2, epochs: 1, warmupIterations: 0, lr: 3e-4, valueLr: 3e-4, ptxBatchSize: 2, maxResponseTokens: 8, episodes: 16, rewardSource: 'rm', promptSource: 'train' },
  // Measured on sentiment (see issue notes): lr 3e-4 over 640 episodes moves the 0.27M-parameter policy to a
  // ~80% win rate over SFT at ~6 nats of KL; 1e-4 over 480 episodes barely left SFT (KL 2.4, 55%).
  tiny: { ...COMMON, batchSize: 32, miniBatches: 4, lr: 3e-4, valueLr: 3e-4, ptxBatchSize: 4, maxResponseTokens: 24, episodes: 640, rewardSource: 'rm', promptSource: 'train' },
  small: { ...COMMON, batchSize: 64, miniBatches: 4, lr: 5e-5, valueLr: 1e-4, ptxBatchSize: 8, maxResponseTokens: 32, episodes: 2560, rewardSource: 'rm', promptSource: 'train' },
};

export const ppo = {
  id: 'ppo',
  name: 'PPO',
  produces: 'policy',
  // The reward model always (the value model starts from it), the ensemble's checkpoint when ppo.rewardSource is
  // "ensemble" (its settings are then the reward's: hence dependsOn).
  reads: ['sft', 'reward-model'],
  writes: 'ppo',
  dependsOn: ['ensemble'],
  byDefault: true,
  lengthSettings: ['ppo.episodes'],
  // The whole loop; the diagram shows PPO before a run.
  diagram: {
    lit: ['prompts', 'policy', 'responses', 'reward-model', 'penalty', 'advantages', 'update', 'reference'],
    numbers: { reward: 'objective/scores', kl: 'objective/kl', beta: 'objective/kl_coef', advantage: 'policy/advantage_std', clipfrac: 'policy/clipfrac' },
  },
  config: [
    {
      section: 'ppo',
      defaults: (preset) => DEFAULTS[preset],
      fields: {
        epochs: { kind: 'int', min: 1, max: 100, meaning: 'passes over each batch (InstructGPT: 1; TRL: 4)' },
        warmupIterations: { kind: 'int', min: 0, max: 100_000, meaning: 'iterations of linear learning-rate warm-up (InstructGPT: 10)' },
        clip: { kind: 'number', min: 0, max: 1, minOpen: true, meaning: 'ε of the policy’s clipped surrogate' },
        valueClip: { kind: 'number', min: 0, max: 1e6, minOpen: true, meaning: 'ε of the value loss clipping' },
        vfCoef: { kind: 'number', min: 0, max: 1e3, minOpen: true, meaning: 'weight of the value loss' },
        gamma: { kind: 'number', min: 0, max: 1, meaning: 'γ: discount of the advantages (GAE) over response tokens' },
        lambda: { kind: 'number', min: 0, max: 1, meaning: 'λ of GAE: lower trades variance of the advantages for bias' },
        klCoef: { kind: 'number', min: 0, max: 100, meaning: 'β: the KL penalty’s initial (or fixed) coefficient' },
        klEstimator: { kind: 'choice', options: ['k1', 'k3'], meaning: 'per-token KL: k1 = log π − log π_ref, or k3 = (r − 1) − log r with r = π_ref/π' },
        adaptiveKL: {
          kind: 'optional',
          meaning: 'adaptive KL control (Ziegler et al. 2019): β follows the KL toward a target; off: β stays ppo.klCoef',
          whenOn: { target: 6, horizon: 10000 },
          fields: {
            target: { kind: 'number', min: 0, max: 1e3, minOpen: true, meaning: 'the KL per response (nats) the controller steers toward' },
            horizon: { kind: 'number', min: 0, max: 1e9, minOpen: true, meaning: 'each iteration moves β by its clipped KL error × ppo.batchSize / horizon (larger: slower)' },
          },
        },
        noEosPenalty: { kind: 'number', min: -100, max: 100, meaning: 'reward instead of the RM score for a response without EOS' },
        ptxCoef: { kind: 'number', min: 0, max: 1e3, meaning: 'γ_ptx: weight of the pretraining LM loss mixed into each policy step (0 = plain PPO)' },
        emaDecay: { kind: 'number', min: 0, max: 1, meaning: 'decay (below 1) of the EMA of the policy weights used for evaluation' },
        gradClip: { kind: 'number', min: 0, max: 1e6, meaning: 'global gradient-norm clipping of both models' },
        batchSize: { kind: 'int', min: 1, max: 4096, meaning: 'episodes (prompt + sampled response) per iteration' },
        miniBatches: { kind: 'int', min: 1, max: { text: 'ppo.batchSize', of: (p) => Math.max(1, p.batchSize) }, meaning: 'minibatches per epoch (they divide ppo.batchSize evenly)' },
        lr: { kind: 'number', min: 0, max: 1, minOpen: true, meaning: 'learning rate of the policy (constant after the warm-up)' },
        valueLr: { kind: 'number', min: 0, max: 1, minOpen: true, meaning: 'learning rate of the value model (constant after the warm-up)' },
        ptxBatchSize: { kind: 'int', min: 1, max: 1024, meaning: 'pretraining sequences per policy step when ppo.ptxCoef > 0' },
        maxResponseTokens: {
          kind: 'int',
          min: 1,
          max: { text: 'the context length − 3', of: (_, model) => Math.max(1, model.contextLength - 3) },
          meaning: 'longest response in tokens, wherever the policy samples (labels, PPO, best-of-N, evaluation); the task is built for it',
        },
        episodes: { kind: 'int', min: 1, max: 10_000_000, meaning: 'episodes of the whole run, a multiple of ppo.batchSize (one iteration per batch)' },
        rewardSource: rewardSourceSetting,
        promptSource: promptSourceSetting,
      },
      check(p) {
        const problems: { field: string; message: string }[] = [];
        if (p.batchSize % p.miniBatches !== 0) problems.push({ field: 'ppo.miniBatches', message: `must divide ppo.batchSize (${p.batchSize}), got ${p.miniBatches}` });
        if (p.episodes % p.batchSize !== 0) problems.push({ field: 'ppo.episodes', message: `must be a multiple of ppo.batchSize (${p.batchSize}), got ${p.episodes}` });
        if (!(p.emaDecay < 1)) problems.push({ field: 'ppo.emaDecay', message: `must be below 1, got ${p.emaDecay}` });
        return problems;
      },
    } as const satisfies StageConfig<PPOSettings>,
  ],
  metrics: {
    ...OPTIMIZER_METRICS,
    ...FRONTIER_METRICS,
    'objective/entropy': {
      label: 'Policy entropy',
      meaning: "Entropy of the policy's token distribution, summed over a response, mean over the batch.",
      healthy: 'Declines slowly; a collapse means repeated-token / mode collapse.',
      unit: 'nats',
    },
    'objective/non_score_reward': KL_PENALTY_METRIC,
    'objective/rlhf_reward': {
      label: 'RLHF reward',
      meaning: 'What PPO maximises: objective/scores + objective/non_score_reward.',
      healthy: 'Keeps rising.',
    },
    'objective/kl_coef': {
      label: 'KL coefficient β',
      meaning: 'The current KL penalty coefficient β (fixed, or set by the adaptive KL controller).',
    },
    'policy/approxkl': {
      label: 'Approx. KL (old→new)',
      meaning: 'Mean over tokens of ½(log π_new − log π_old)²: how far one PPO update moved the policy.',
      healthy: 'Small (≈ 0.01 or below); large values mean updates are too aggressive.',
      unit: 'nats',
    },
    'policy/clipfrac': {
      label: 'Policy clip fraction',
      meaning: 'Fraction of tokens where the clipped surrogate was active (the ratio left [1−ε, 1+ε]).',
      healthy: 'Low (below ≈ 0.2); high means the learning rate is too large.',
    },
    'policy/advantage_std': {
      label: 'Advantage spread',
      meaning: 'Standard deviation of the raw GAE advantages over the response tokens of the batch, before whitening (whitened ones have std 1).',
      healthy: 'Steady or slowly falling as the value head learns; a jump means the rewards or the value head moved suddenly.',
    },
    'loss/policy': {
      label: 'Policy loss',
      meaning: 'Clipped surrogate loss, mean over tokens of max(−A·ρ, −A·clip(ρ, 1±ε)).',
      healthy: 'Small and noisy around 0 (advantages are whitened).',
    },
    'loss/value': {
      label: 'Value loss',
      meaning: 'Clipped value loss, ½·mean over tokens of max((v − R)², (v_clip − R)²).',
      healthy: 'Falls and stays bounded; spikes or NaN mean trouble.',
    },
    'loss/ptx': {
      label: 'Pretraining loss (ptx)',
      meaning: 'Language-model loss on pretraining data mixed into PPO (PPO-ptx; 0 / absent for plain PPO).',
      healthy: 'Stays near its SFT-time level (that is the point of mixing it in).',
      unit: 'nats/token',
    },
    'val/clipfrac': {
      label: 'Value clip fraction',
      meaning: 'Fraction of tokens where the clipped value loss was the larger one.',
      healthy: 'Low; high means the value head moves too fast.',
    },
    'val/ratio': {
      label: 'Policy ratio',
      meaning: 'Mean over tokens of ρ = π_new/π_old within the PPO update.',
      healthy: 'Stays near 1.0.',
    },
    'val/ratio_var': {
      label: 'Policy ratio variance',
      meaning: 'Variance of the policy ratio ρ.',
      healthy: 'Small.',
    },
    'val/num_eos_tokens': {
      label: 'EOS count',
      meaning: 'Number of sampled responses in the batch that ended with EOS (the rest get the no-EOS penalty).',
      healthy: 'Most of the batch; falling means responses run to the length limit (length hacking).',
    },
    'val/explained_variance': {
      label: 'Explained variance',
      meaning: 'How much of the returns’ variance the value head predicts: 1 − Var(R − V)/Var(R).',
      healthy: 'Rises toward 1; negative means the value head is worse than predicting the mean.',
    },
    'val/response_length': {
      label: 'Response length',
      meaning: 'Mean number of tokens per sampled response.',
      healthy: 'Roughly stable; steady growth with a rising RM score hints at length hacking.',
      unit: 'tokens',
    },
    episode: {
      label: 'Episodes',
      meaning: 'Number of responses (prompt → response → reward episodes) sampled so far.',
    },
    eps: {
      label: 'Episodes/s',
      meaning: 'Throughput: episodes per second over the last PPO iteration.',
      unit: 'episodes/s',
    },
    ...evaluationMetrics('ppo', 'PPO'),
  },
  policy: { color: COLORS.blue, trajectory: FRONTIER_TRAJECTORY },
  charts: [
    rewardChart('PPO reward: proxy and gold'),
    {
      title: 'KL to the SFT policy',
      lines: [
        { metric: 'objective/kl', color: COLORS.purple },
        { metric: 'policy/sqrt_kl', color: COLORS.teal, axis: 'right' },
      ],
    },
    { title: 'Policy entropy', lines: [{ metric: 'objective/entropy', color: COLORS.green }] },
    {
      title: 'Clip fraction and approx. KL',
      lines: [
        { metric: 'policy/clipfrac', color: COLORS.red },
        { metric: 'policy/approxkl', color: COLORS.purple, axis: 'right' },
      ],
    },
    { title: 'Value loss', lines: [{ metric: 'loss/value', color: COLORS.orange }] },
    { title: 'Policy ratio', lines: [{ metric: 'val/ratio', color: COLORS.teal }] },
    { title: 'Response length', lines: [{ metric: 'val/response_length', color: COLORS.blue }] },
  ],
  teaching: {
    title: 'PPO against the reward model',
    what: 'The policy samples responses, the reward model scores them, a per-token KL penalty to the SFT model is subtracted, and PPO (clipped, with a value model initialised from the reward model) updates the policy; optionally with pretraining text mixed in (PPO-ptx). ppo.rewardSource can put another judge in the reward model’s place: the reward-model ensemble, the task’s verifier (1 for an exact answer) or the gold reward itself (an oracle: the upper bound).',
    why: 'Sampling and scoring lets the policy improve beyond the demonstrations. The KL penalty stops it from drifting into text the reward model was never trained on, where its scores mean nothing.',
    healthy: 'The RM score and rlhf_reward rise; KL grows slowly (usually below 10 nats); the ratio stays near 1 and clipfrac small; the value loss falls. RM score rising while the gold reward falls is reward hacking; negative KL, a ratio far from 1 or a NaN value loss stop the run.',
    formulas: [
      {
        title: 'Reward with the KL penalty (per token)',
        text: 'R(x, y) = r_φ(x, y) − β · Σₜ log( π_RL(yₜ | x, y₍<ₜ₎) / π_SFT(yₜ | x, y₍<ₜ₎) )',
        symbols: [
          ['r_φ(x, y)', 'the reward model’s score, given at the last token of the response'],
          ['β', 'the KL coefficient (0.02 in InstructGPT; adapted toward a target KL by Ziegler et al.’s controller)'],
          ['π_RL, π_SFT', 'the policy being trained and the frozen SFT policy'],
        ],
        source: 'Ziegler et al. 2019; InstructGPT §3.5',
      },
      {
        title: 'PPO clipped surrogate',
        text: 'L_pg = E[ max( −A·ρ, −A·clip(ρ, 1 − ε, 1 + ε) ) ],   ρ = π_θ(yₜ|·) / π_old(yₜ|·)',
        symbols: [
          ['A', 'the whitened GAE advantage (γ = 1, λ = 0.95)'],
          ['ρ', 'the probability ratio of the new and the rollout policy'],
          ['ε', 'the clip range, 0.2'],
        ],
        source: 'Schulman et al. 2017; Huang et al., The N Implementation Details of RLHF with PPO',
      },
      {
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
    ],
    metrics: ['objective/scores', 'objective/kl', 'objective/rlhf_reward', 'policy/approxkl', 'policy/clipfrac', 'val/ratio', 'loss/value'],
  },
  memory: ({ T, pretrainRowTokens, model, trained, biggest, largestActivation, trainingPart, training, forward, generation }, c): StagePlan => {
    const p = c.ppo;
    const mb = (p.batchSize / p.miniBatches) * T;
    // A policy step's loss reads the old log-probs, advantages, old values and returns (4 per token); with PPO-ptx
    // the pretraining batch's forward and backward are in the same step.
    const policyStep = training('a policy step', 'ppo.batchSize', mb, 'logprob', 4);
    const ptx = p.ptxBatchSize * pretrainRowTokens;
    const withPtx = { ...policyStep, name: 'a policy step with its pretraining batch', parts: [...policyStep.parts, trainingPart(ptx, 'lm-loss')], largest: biggest(policyStep.largest, largestActivation(ptx, 'lm-loss')) };
    return {
      resident: [model('the policy'), model('the reference policy'), ...rewardSourceModels({ model }, p.rewardSource, c), model('the value model', 'value'), trained("the policy's optimizer"), trained("the value model's optimizer", 'value')],
      phases: [
        generation('rollout', 'ppo.batchSize', p.batchSize),
        forward('scoring the rollout', 'ppo.batchSize', p.batchSize, 'logprob'),
        p.ptxCoef > 0 ? withPtx : policyStep,
        training('a value step', 'ppo.batchSize', mb, 'scalar', 4),
      ],
    };
  },
  trl: { load: () => import('./ppo-trl') },
  run: async (ctx) => (await import('./ppo-run')).runPpo(ctx),
} as const satisfies StageDescriptor;
