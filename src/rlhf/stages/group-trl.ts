// What GRPO and RLOO share in train_trl.py: the rows of their common settings, the reward model as a reward function
// (both trainers take reward_funcs), and the function that reruns one of them on data/prompts.jsonl.
import { PROMPT_SOURCE_NOTE } from './trl-python';
import type { StageTrl, StageTrlScript, TrlSetting } from './types';

/** The rows of the settings every group method has (./group.ts groupBatchFields, GROUP_CLIP_AND_REWARD_FIELDS). */
export function groupTrlSettings(section: string, configClass: string, maxSteps: string): Record<string, TrlSetting> {
  return {
    [`${section}.promptsPerIteration`]: [`${configClass}.per_device_train_batch_size`, '× num_generations completions per process'],
    [`${section}.episodes`]: [`${configClass}.max_steps`, maxSteps],
    [`${section}.lr`]: [`${configClass}.learning_rate`, "lr_scheduler_type='constant_with_warmup'"],
    [`${section}.warmup`]: [`${configClass}.warmup_steps`, ''],
    [`${section}.gradClip`]: [`${configClass}.max_grad_norm`, ''],
    [`${section}.rewardSource`]: [null, 'reward_funcs: the reward model the script trains; gold, verifier and ensemble rewards are the lab’s own'],
    [`${section}.promptSource`]: [null, PROMPT_SOURCE_NOTE],
  };
}

const REWARD_FUNCTION = `def reward_function(reward_dir):
    """The reward model's score of [BOS] prompt [SEP] completion [EOS] (the prompts carry BOS and SEP already)."""
    tok = tokenizer(reward_dir)
    model = AutoModelForSequenceClassification.from_pretrained(reward_dir).to(device()).eval()

    def lab_reward(prompts, completions, **kwargs):
        batch = tok([p + c + tok.eos_token for p, c in zip(prompts, completions)], return_tensors="pt", padding=True).to(model.device)
        with torch.no_grad():
            return model(**batch).logits[:, 0].tolist()

    return lab_reward
`;

/** A group method's part of the script: def <name>(policy, reward) running `trainer` with `configArgs` (Python keyword arguments). */
export function groupTrlScript(name: string, trainer: string, configClass: string, configArgs: string): StageTrlScript {
  return {
    trainer,
    smoke: [configClass, 'dict(per_device_train_batch_size=2, num_generations=2)'],
    helpers: { reward_function: REWARD_FUNCTION },
    call: `${name}(policy, reward)`,
    code: `def ${name}(policy, reward):
    tok = tokenizer(policy, padding_side="left")
    rows = data("prompts.jsonl").map(lambda r: {"prompt": lab_prompt(tok, r["prompt"])})
    config = training_args(trl.${configClass}, "${name}", ${configArgs})
    trainer = trl.${trainer}(model=AutoModelForCausalLM.from_pretrained(policy), reward_funcs=reward_function(reward), args=config, train_dataset=rows, processing_class=tok)
    trainer.train()
    save(trainer, tok, "${name}")
`,
  };
}

/** Group methods train the policy with the reward model, on the prompts alone. */
export const GROUP_TRL_NEEDS = { needsRankings: false, needsReward: true } as const satisfies Partial<StageTrl>;
