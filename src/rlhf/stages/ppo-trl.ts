// PPO in train_trl.py: PPOTrainer from the policy, with the reward model as the reward and as the value model's start.
import { PROMPT_SOURCE_NOTE, py } from './trl-python';
import type { StageTrl } from './types';

const REWARD_SOURCE_NOTE = 'the reward model the script trains (reward_model); gold, verifier and ensemble rewards are the lab’s own';

export const trl: StageTrl = {
  settings: {
    'ppo.epochs': ['PPOConfig.num_ppo_epochs', ''],
    'ppo.warmupIterations': ['PPOConfig.warmup_steps', '× num_ppo_epochs × num_mini_batches optimizer steps'],
    'ppo.clip': ['PPOConfig.cliprange', ''],
    'ppo.valueClip': ['PPOConfig.cliprange_value', ''],
    'ppo.vfCoef': ['PPOConfig.vf_coef', ''],
    'ppo.gamma': ['PPOConfig.gamma', ''],
    'ppo.lambda': ['PPOConfig.lam', ''],
    'ppo.klCoef': ['PPOConfig.kl_coef', ''],
    'ppo.klEstimator': ['PPOConfig.kl_estimator', ''],
    'ppo.adaptiveKL': [null, 'off in the lab; TRL’s PPOTrainer has no adaptive KL controller either'],
    'ppo.adaptiveKL.target': [null, 'PPOTrainer has no adaptive KL controller: β stays kl_coef'],
    'ppo.adaptiveKL.horizon': [null, 'PPOTrainer has no adaptive KL controller'],
    'ppo.noEosPenalty': ['PPOConfig.missing_eos_penalty', 'the lab replaces the score by this value; TRL subtracts |value| from the score'],
    'ppo.ptxCoef': [null, 'PPOTrainer has no pretraining (ptx) loss'],
    'ppo.emaDecay': [null, 'no EMA of the weights in TRL'],
    'ppo.gradClip': ['PPOConfig.max_grad_norm', ''],
    'ppo.batchSize': ['PPOConfig.per_device_train_batch_size', '= batchSize / miniBatches per process, so an iteration samples batchSize episodes'],
    'ppo.miniBatches': ['PPOConfig.num_mini_batches', ''],
    'ppo.lr': ['PPOConfig.learning_rate', 'one optimizer for policy and value'],
    'ppo.valueLr': [null, 'PPOTrainer trains policy and value with one optimizer at learning_rate'],
    'ppo.ptxBatchSize': [null, 'PPOTrainer has no pretraining (ptx) loss'],
    'ppo.maxResponseTokens': ['PPOConfig.response_length', 'also max_completion_length of GRPO and RLOO'],
    'ppo.episodes': ['PPOConfig.total_episodes', ''],
    'ppo.rewardSource': [null, REWARD_SOURCE_NOTE],
    'ppo.promptSource': [null, PROMPT_SOURCE_NOTE],
  },
  needsRankings: false,
  needsReward: true,
  script: ({ ppo: p }) => ({
    trainer: 'PPOTrainer',
    smoke: ['PPOConfig', 'dict(per_device_train_batch_size=2, num_mini_batches=1, total_episodes=4, local_rollout_forward_batch_size=2, num_sample_generations=0)'],
    call: 'ppo(policy, reward)',
    code: `def ppo(policy, reward):
    tok = tokenizer(policy, padding_side="left")

    def lab_query(r):  # PPOTrainer takes token ids
        return {"input_ids": tok(lab_prompt(tok, r["prompt"]))["input_ids"]}

    rows, heldout = (data(f).map(lab_query, remove_columns=["prompt"]) for f in ("prompts.jsonl", "prompts-heldout.jsonl"))
    config = training_args(trl.PPOConfig, "ppo", total_episodes=${py(p.episodes)}, per_device_train_batch_size=${py(p.batchSize / p.miniBatches)}, num_mini_batches=${py(p.miniBatches)},
                           num_ppo_epochs=${py(p.epochs)}, learning_rate=${py(p.lr)}, warmup_steps=${py(p.warmupIterations * p.epochs * p.miniBatches)}, lr_scheduler_type="constant_with_warmup",
                           kl_coef=${py(p.klCoef)}, kl_estimator=${py(p.klEstimator)}, cliprange=${py(p.clip)}, cliprange_value=${py(p.valueClip)}, vf_coef=${py(p.vfCoef)},
                           gamma=${py(p.gamma)}, lam=${py(p.lambda)}, max_grad_norm=${py(p.gradClip)}, missing_eos_penalty=${py(Math.abs(p.noEosPenalty))},
                           response_length=${py(p.maxResponseTokens)}, temperature=1.0, stop_token="eos")
    trainer = trl.PPOTrainer(
        args=config,
        processing_class=tok,
        model=AutoModelForCausalLM.from_pretrained(policy),
        ref_model=AutoModelForCausalLM.from_pretrained(policy),
        reward_model=AutoModelForSequenceClassification.from_pretrained(reward, num_labels=1),
        value_model=AutoModelForSequenceClassification.from_pretrained(reward, num_labels=1),  # the lab starts the value model from the reward model
        train_dataset=rows,
        eval_dataset=heldout,
    )
    trainer.train()
    save(trainer, tok, "ppo")
`,
  }),
};
