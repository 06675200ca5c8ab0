// DPO in train_trl.py: DPOTrainer on every ranking's ordered pairs (data/preferences.jsonl); no reward model.
import { pairsPerRanking, py } from './trl-python';
import type { StageTrl } from './types';

export const trl: StageTrl = {
  settings: {
    'dpo.loss': ['DPOConfig.loss_type', ''],
    'dpo.beta': ['DPOConfig.beta', ''],
    'dpo.lr': ['DPOConfig.learning_rate', "lr_scheduler_type='constant_with_warmup'"],
    'dpo.epochs': ['DPOConfig.num_train_epochs', ''],
    'dpo.groupsPerStep': ['DPOConfig.per_device_train_batch_size', '× C(K,2) pairs'],
    'dpo.warmup': ['DPOConfig.warmup_steps', ''],
    'dpo.evalEvery': ['DPOConfig.eval_steps', 'on data/preferences-heldout.jsonl'],
    'dpo.evalPrompts': [null, 'TRL evaluates held-out pairs, it does not sample prompts'],
  },
  needsRankings: true,
  needsReward: false,
  script: (c, { contextLength }) => ({
    trainer: 'DPOTrainer',
    smoke: ['DPOConfig', 'dict(per_device_train_batch_size=2, per_device_eval_batch_size=2, eval_steps=1)'],
    call: 'dpo(policy)',
    code: `def dpo(policy):
    tok = tokenizer(policy)

    def lab_pair(r):  # DPOTrainer appends EOS to chosen and rejected itself
        return {"prompt": lab_prompt(tok, r["prompt"]), "chosen": r["chosen"], "rejected": r["rejected"]}

    rows, heldout = (data(f).map(lab_pair) for f in ("preferences.jsonl", "preferences-heldout.jsonl"))
    config = training_args(trl.DPOConfig, "dpo", num_train_epochs=${py(c.dpo.epochs)}, per_device_train_batch_size=${py(c.dpo.groupsPerStep * pairsPerRanking(c))}, learning_rate=${py(c.dpo.lr)},
                           warmup_steps=${py(c.dpo.warmup)}, lr_scheduler_type="constant_with_warmup", beta=${py(c.dpo.beta)}, loss_type=${py(c.dpo.loss)},
                           max_length=${py(contextLength)}, eval_strategy="steps", eval_steps=${py(c.dpo.evalEvery)})
    trainer = trl.DPOTrainer(model=AutoModelForCausalLM.from_pretrained(policy), args=config, train_dataset=rows, eval_dataset=heldout, processing_class=tok)
    trainer.train()
    save(trainer, tok, "dpo")
`,
  }),
};
