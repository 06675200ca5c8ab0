// Supervised fine-tuning in train_trl.py: SFTTrainer on data/sft.jsonl from models/base, the loss on the completion only.
import { py, SFT_SOURCE_NOTE } from './trl-python';
import type { StageTrl } from './types';

export const trl: StageTrl = {
  settings: {
    'sft.steps': ['SFTConfig.max_steps', '0: no SFT, models/base is the policy'],
    'sft.batchSize': ['SFTConfig.per_device_train_batch_size', 'per process'],
    'sft.seq': ['SFTConfig.max_length', 'TRL truncates the end; the lab drops the start of the prompt'],
    'sft.lr': ['SFTConfig.learning_rate', "lr_scheduler_type='cosine' (transformers decays to 0)"],
    'sft.warmup': ['SFTConfig.warmup_steps', ''],
    'sft.promptSource': [null, SFT_SOURCE_NOTE],
  },
  needsRankings: false,
  provides: 'policy',
  script: ({ sft }) => {
    if (sft.steps === 0) return { code: '', call: 'path("models", "base")  # sft.steps 0: the base model is the SFT policy' };
    return {
      trainer: 'SFTTrainer',
      smoke: ['SFTConfig', 'dict(per_device_train_batch_size=2)'],
      call: 'sft()',
      code: `def sft():
    tok = tokenizer(path("models", "base"))
    rows = data("sft.jsonl").map(lambda r: {"prompt": lab_prompt(tok, r["prompt"]), "completion": r["completion"]})
    config = training_args(trl.SFTConfig, "sft", max_steps=${py(sft.steps)}, per_device_train_batch_size=${py(sft.batchSize)}, max_length=${py(sft.seq)},
                           learning_rate=${py(sft.lr)}, warmup_steps=${py(sft.warmup)}, lr_scheduler_type="cosine", completion_only_loss=True, packing=False)
    trainer = trl.SFTTrainer(model=AutoModelForCausalLM.from_pretrained(path("models", "base")), args=config, train_dataset=rows, processing_class=tok)
    trainer.train()
    return save(trainer, tok, "sft")
`,
    };
  },
};
