// GRPO in train_trl.py: GRPOTrainer with the reward model as its reward function.
import { GROUP_TRL_NEEDS, groupTrlScript, groupTrlSettings } from './group-trl';
import { py } from './trl-python';
import type { StageTrl } from './types';

export const trl: StageTrl = {
  settings: {
    'grpo.groupSize': ['GRPOConfig.num_generations', ''],
    ...groupTrlSettings('grpo', 'GRPOConfig', '= episodes / (promptsPerIteration × groupSize) × iterations'),
    'grpo.epsLow': ['GRPOConfig.epsilon', ''],
    'grpo.epsHigh': ['GRPOConfig.epsilon_high', ''],
    'grpo.beta': ['GRPOConfig.beta', ''],
    'grpo.scaleRewards': ['GRPOConfig.scale_rewards', ''],
    'grpo.lossType': ['GRPOConfig.loss_type', ''],
    'grpo.iterations': ['GRPOConfig.num_iterations', ''],
    'grpo.dynamicSampling': [null, 'GRPOTrainer has no dynamic sampling (DAPO’s resampling of groups with no spread): every group is trained on'],
  },
  ...GROUP_TRL_NEEDS,
  script: ({ grpo: g, ppo }) => {
    const batch = g.promptsPerIteration * g.groupSize;
    return groupTrlScript(
      'grpo',
      'GRPOTrainer',
      'GRPOConfig',
      `max_steps=${py((g.episodes / batch) * g.iterations)}, per_device_train_batch_size=${py(batch)}, num_generations=${py(g.groupSize)},
                           learning_rate=${py(g.lr)}, warmup_steps=${py(g.warmup)}, lr_scheduler_type="constant_with_warmup", epsilon=${py(g.epsLow)}, epsilon_high=${py(g.epsHigh)},
                           beta=${py(g.beta)}, scale_rewards=${py(g.scaleRewards)}, loss_type=${py(g.lossType)}, num_iterations=${py(g.iterations)}, max_grad_norm=${py(g.gradClip)},
                           max_completion_length=${py(ppo.maxResponseTokens)}, temperature=1.0`,
    );
  },
};
