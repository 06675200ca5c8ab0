// PPO against the reward model with a per-token KL penalty to the SFT policy (InstructGPT's RL stage);
// src/rlhf/ppo.ts has the algorithm and its implementation details.
import { COLORS, evaluationMetrics, FRONTIER_METRICS, OPTIMIZER_METRICS } from './shared';
import type { StageDescriptor } from './types';

export const ppo = {
  id: 'ppo',
  name: 'PPO',
  produces: 'policy',
  reads: ['sft', 'reward-model'],
  writes: 'ppo',
  dependsOn: ['ppo'],
  byDefault: true,
  metrics: {
    ...OPTIMIZER_METRICS,
    ...FRONTIER_METRICS,
    'objective/entropy': {
      label: 'Policy entropy',
      meaning: "Entropy of the policy's token distribution, summed over a response, mean over the batch.",
      healthy: 'Declines slowly; a collapse means repeated-token / mode collapse.',
      unit: 'nats',
    },
    'objective/non_score_reward': {
      label: 'KL penalty',
      meaning: 'The KL part of the reward, −β·KL summed over a response, mean over the batch.',
      healthy: 'Small and negative.',
    },
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
  policy: { color: COLORS.blue, trajectory: { kl: 'objective/kl', proxy: 'objective/scores', gold: 'objective/gold' } },
  charts: [
    {
      title: 'PPO reward: proxy and gold',
      lines: [
        { metric: 'objective/scores', label: 'Proxy (RM score)', color: COLORS.blue },
        { metric: 'objective/gold', label: 'Gold reward', color: COLORS.orange },
      ],
    },
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
    what: 'The policy samples responses, the reward model scores them, a per-token KL penalty to the SFT model is subtracted, and PPO (clipped, with a value model initialised from the reward model) updates the policy; optionally with pretraining text mixed in (PPO-ptx).',
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
  run: async (ctx) => (await import('./ppo-run')).runPpo(ctx),
} as const satisfies StageDescriptor;
