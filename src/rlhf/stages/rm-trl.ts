// The reward model in train_trl.py: RewardTrainer on every ranking's ordered pairs (data/preferences.jsonl) from the
// policy the script has, the score centred on the demonstrations afterwards as the lab centres it.
import { pairsPerRanking, py } from './trl-python';
import type { StageTrl } from './types';

export const trl: StageTrl = {
  settings: {
    'labels.prompts': [null, 'the rankings were made in the lab: data/preferences*.jsonl'],
    'labels.k': [null, 'each ranking of K is expanded into its K(K−1)/2 pairs in data/preferences.jsonl'],
    'labels.agreement': [null, "the simulated labelers' noise is already in the rankings"],
    'labels.heldoutFraction': [null, 'the split is the files: preferences.jsonl vs preferences-heldout.jsonl'],
    'rm.lr': ['RewardConfig.learning_rate', "lr_scheduler_type='constant_with_warmup'"],
    'rm.groupsPerStep': ['RewardConfig.per_device_train_batch_size', "× C(K,2) pairs; TRL shuffles pairs on their own, the lab keeps a ranking's pairs in one step"],
    'rm.epochs': ['RewardConfig.num_train_epochs', ''],
    'rm.warmup': ['RewardConfig.warmup_steps', ''],
  },
  needsRankings: true,
  provides: 'reward',
  script: (c, { contextLength }) => ({
    trainer: 'RewardTrainer',
    smoke: ['RewardConfig', 'dict(per_device_train_batch_size=2, per_device_eval_batch_size=2)'],
    call: 'reward_model(policy)',
    code: `def reward_model(start):
    tok = tokenizer(start)

    def lab_pair(r):  # implicit-prompt pairs: [BOS] prompt [SEP] completion [EOS], scored at the EOS
        return {k: lab_prompt(tok, r["prompt"]) + r[k] + tok.eos_token for k in ("chosen", "rejected")}

    rows, heldout = (data(f).map(lab_pair, remove_columns=["prompt"]) for f in ("preferences.jsonl", "preferences-heldout.jsonl"))
    model = AutoModelForSequenceClassification.from_pretrained(start, num_labels=1)
    if tok.pad_token_id == tok.eos_token_id:  # a GPT-2-family base pads with its EOS: the score would skip the EOS
        tok.add_special_tokens({"pad_token": "<|pad|>"})
        model.resize_token_embeddings(len(tok))
    model.config.pad_token_id = tok.pad_token_id
    config = training_args(trl.RewardConfig, "reward-model", num_train_epochs=${py(c.rm.epochs)}, per_device_train_batch_size=${py(c.rm.groupsPerStep * pairsPerRanking(c))},
                           learning_rate=${py(c.rm.lr)}, warmup_steps=${py(c.rm.warmup)}, lr_scheduler_type="constant_with_warmup", max_length=${py(contextLength)}, disable_dropout=True)
    trainer = trl.RewardTrainer(model=model, args=config, train_dataset=rows, eval_dataset=heldout, processing_class=tok)
    trainer.train()
    center_on_demonstrations(model, tok)
    return save(trainer, tok, "reward-model")


def center_on_demonstrations(model, tok):
    """As the lab: shift the score so the demonstrations score 0 on average. The score layer has no bias, so the shift
    goes into ln_f.bias along w/(w·w), which adds exactly the shift to w·ln_f(x) for every input."""
    texts = [lab_prompt(tok, r["prompt"]) + r["completion"] + tok.eos_token for r in data("sft.jsonl")]
    model.eval()
    with torch.no_grad():
        scores = torch.cat([model(**tok(texts[i : i + 32], return_tensors="pt", padding=True).to(model.device)).logits[:, 0] for i in range(0, len(texts), 32)])
        w = model.score.weight[0]
        model.transformer.ln_f.bias -= scores.mean() * w / w.dot(w)
`,
  }),
};
