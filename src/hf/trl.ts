// "Continue in TRL": a pipeline run as a folder that reruns its stages with Hugging Face TRL at scale —
//   data/       the run's data in TRL's dataset formats: prompts.jsonl {"prompt"} (training prompts; -heldout too),
//               sft.jsonl {"prompt","completion"} (the demonstrations), preferences.jsonl {"prompt","chosen","rejected"}
//               (every ranking of the reward model's training split expanded into all its K(K−1)/2 ordered pairs;
//               -heldout the held-out split's)
//   models/     the Hugging Face folders (./folder.ts) of the base and SFT models (and of the reward model when the
//               run used one it did not train)
//   train_trl.py, requirements.txt   SFTTrainer → RewardTrainer → the run's RL stages (PPOTrainer, DPOTrainer,
//               GRPOTrainer, RLOOTrainer) with the lab's hyperparameters; its header maps every setting of the run
//               to its TRL argument or says that TRL has none.
// TRL's API changes between versions: the script is written for TRL_VERSION's argument names, pinned in requirements.txt.
import { loadCheckpoint } from '../model/checkpoint';
import type { SftExample } from '../model/data';
import type { PipelineConfig } from '../rlhf/config';
import type { Ranking } from '../rlhf/preferences';
import { ENSEMBLE_CHECKPOINT } from '../rlhf/reward-source-kinds';
import { inRunOrder, stageById, STAGE_NAMES, type StageId } from '../rlhf/stages';
import { hfFolder, type HfFiles, type RunFacts } from './folder';

export const TRL_VERSION = '0.24.0';
/** The versions TRL_VERSION was released against. */
const REQUIREMENTS = [`trl==${TRL_VERSION}`, 'transformers==4.57.1', 'datasets>=3.0', 'accelerate>=1.4', 'torch>=2.4'];

/** A run that cannot become a TRL folder (a missing checkpoint or file), naming what is missing. */
export class TrlExportError extends Error {
  constructor(message: string) {
    super(`TRL export: ${message}`);
    this.name = 'TrlExportError';
  }
}

/** What a pipeline run holds, from its output folder (the CLI) or from the page's session. */
export interface PipelineRun extends RunFacts {
  /** The task's training and held-out prompts. */
  prompts: { train: readonly string[]; heldout: readonly string[] };
  demonstrations: readonly SftExample[];
  /** The reward model's rankings (best first), when a stage made them. */
  rankings: { train: readonly Ranking[]; heldout: readonly Ranking[] } | undefined;
  /** Checkpoint bytes by name (base and sft at least). */
  checkpoints: Readonly<Record<string, Uint8Array>>;
}

/** The RL stages TRL reruns, each with its trainer. */
const RL_TRAINERS = { ppo: 'PPOTrainer', dpo: 'DPOTrainer', grpo: 'GRPOTrainer', rloo: 'RLOOTrainer' } as const;
type RlStage = keyof typeof RL_TRAINERS;
const isRl = (s: string): s is RlStage => Object.hasOwn(RL_TRAINERS, s);

/**
 * Every setting of the pipeline → [its TRL argument, or null where TRL has none; why, or how the value maps].
 * Keyed by dotted path; an optional group appears both off (its own path) and on (its fields' paths).
 */
const MAPPING: Readonly<Record<string, readonly [string | null, string]>> = {
  task: [null, "the lab's task: its prompts, demonstrations and rankings are the data/ files"],
  preset: [null, 'model size: the models/ folders carry it (config.json)'],
  seed: ['TrainingArguments.seed', 'every trainer'],
  'pretrain.steps': [null, 'pretraining is not rerun: models/base is the base model'],
  'pretrain.batchSize': [null, 'pretraining is not rerun'],
  'pretrain.lr': [null, 'pretraining is not rerun'],
  'pretrain.force': [null, 'pretraining is not rerun'],
  'sft.steps': ['SFTConfig.max_steps', '0: no SFT, models/base is the policy'],
  'sft.batchSize': ['SFTConfig.per_device_train_batch_size', 'per process'],
  'sft.seq': ['SFTConfig.max_length', 'TRL truncates the end; the lab drops the start of the prompt'],
  'sft.lr': ['SFTConfig.learning_rate', "lr_scheduler_type='cosine' (transformers decays to 0)"],
  'sft.warmup': ['SFTConfig.warmup_steps', ''],
  'labels.prompts': [null, 'the rankings were made in the lab: data/preferences*.jsonl'],
  'labels.k': [null, 'each ranking of K is expanded into its K(K−1)/2 pairs in data/preferences.jsonl'],
  'labels.agreement': [null, "the simulated labelers' noise is already in the rankings"],
  'labels.heldoutFraction': [null, 'the split is the files: preferences.jsonl vs preferences-heldout.jsonl'],
  'rm.lr': ['RewardConfig.learning_rate', "lr_scheduler_type='constant_with_warmup'"],
  'rm.groupsPerStep': ['RewardConfig.per_device_train_batch_size', "× C(K,2) pairs; TRL shuffles pairs on their own, the lab keeps a ranking's pairs in one step"],
  'rm.epochs': ['RewardConfig.num_train_epochs', ''],
  'rm.warmup': ['RewardConfig.warmup_steps', ''],
  'ensemble.members': [null, 'TRL has no reward ensemble: the script trains one reward model'],
  'ensemble.combine': [null, 'TRL has no reward ensemble'],
  'ensemble.lambda': [null, 'TRL has no reward ensemble'],
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
  'ppo.rewardSource': [null, 'the reward model the script trains (reward_model); gold, verifier and ensemble rewards are the lab’s own'],
  'dpo.loss': ['DPOConfig.loss_type', ''],
  'dpo.beta': ['DPOConfig.beta', ''],
  'dpo.lr': ['DPOConfig.learning_rate', "lr_scheduler_type='constant_with_warmup'"],
  'dpo.epochs': ['DPOConfig.num_train_epochs', ''],
  'dpo.groupsPerStep': ['DPOConfig.per_device_train_batch_size', '× C(K,2) pairs'],
  'dpo.warmup': ['DPOConfig.warmup_steps', ''],
  'dpo.evalEvery': ['DPOConfig.eval_steps', 'on data/preferences-heldout.jsonl'],
  'dpo.evalPrompts': [null, 'TRL evaluates held-out pairs, it does not sample prompts'],
  'grpo.groupSize': ['GRPOConfig.num_generations', ''],
  'grpo.promptsPerIteration': ['GRPOConfig.per_device_train_batch_size', '× num_generations completions per process'],
  'grpo.episodes': ['GRPOConfig.max_steps', '= episodes / (promptsPerIteration × groupSize) × iterations'],
  'grpo.lr': ['GRPOConfig.learning_rate', "lr_scheduler_type='constant_with_warmup'"],
  'grpo.warmup': ['GRPOConfig.warmup_steps', ''],
  'grpo.epsLow': ['GRPOConfig.epsilon', ''],
  'grpo.epsHigh': ['GRPOConfig.epsilon_high', ''],
  'grpo.beta': ['GRPOConfig.beta', ''],
  'grpo.scaleRewards': ['GRPOConfig.scale_rewards', ''],
  'grpo.lossType': ['GRPOConfig.loss_type', ''],
  'grpo.iterations': ['GRPOConfig.num_iterations', ''],
  'grpo.dynamicSampling': [null, 'GRPOTrainer has no dynamic sampling (DAPO’s resampling of groups with no spread): every group is trained on'],
  'grpo.gradClip': ['GRPOConfig.max_grad_norm', ''],
  'grpo.rewardSource': [null, 'reward_funcs: the reward model the script trains; gold, verifier and ensemble rewards are the lab’s own'],
  'rloo.k': ['RLOOConfig.num_generations', ''],
  'rloo.promptsPerIteration': ['RLOOConfig.per_device_train_batch_size', '× num_generations completions per process'],
  'rloo.episodes': ['RLOOConfig.max_steps', '= episodes / (promptsPerIteration × k)'],
  'rloo.lr': ['RLOOConfig.learning_rate', "lr_scheduler_type='constant_with_warmup'"],
  'rloo.warmup': ['RLOOConfig.warmup_steps', ''],
  'rloo.beta': ['RLOOConfig.beta', ''],
  'rloo.gradClip': ['RLOOConfig.max_grad_norm', ''],
  'rloo.rewardSource': [null, 'reward_funcs: the reward model the script trains; gold, verifier and ensemble rewards are the lab’s own'],
  'bon.maxN': [null, 'best-of-N is a measurement, not training: not rerun'],
  'bon.prompts': [null, 'best-of-N is not rerun'],
  'eval.prompts': [null, 'the evaluation (win rates against SFT by the gold reward) is the lab’s own: not rerun'],
};

export interface SettingRow {
  /** Dotted path, e.g. "ppo.klCoef". */
  setting: string;
  value: unknown;
  trl: string | null;
  note: string;
}

/** Every setting of the run (task, preset, seed and each section of its stages, leaf by leaf) with its mapping. */
export function settingRows(config: PipelineConfig, stages: readonly string[]): SettingRow[] {
  const sections = config as unknown as Record<string, unknown>;
  const leaves: [string, unknown][] = [['task', config.task], ['preset', config.preset], ['seed', config.seed]];
  const walk = (path: string, v: unknown) => {
    if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(`${path}.${k}`, x);
    else leaves.push([path, v]);
  };
  for (const s of inRunOrder(stages)) for (const { section } of stageById(s).config ?? []) walk(section, sections[section]);
  return leaves.map(([setting, value]) => {
    const mapped = MAPPING[setting];
    if (!mapped) throw new TrlExportError(`no TRL mapping for the setting ${setting}`);
    return { setting, value, trl: mapped[0], note: mapped[1] };
  });
}

/** A ranking (best first) as all its ordered pairs: completion i is chosen over j for every i < j. */
export function preferencePairs(rankings: readonly Ranking[]): { prompt: string; chosen: string; rejected: string }[] {
  return rankings.flatMap((r) => r.completions.flatMap((chosen, i) => r.completions.slice(i + 1).map((rejected) => ({ prompt: r.prompt, chosen, rejected }))));
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const jsonl = (rows: readonly unknown[]) => utf8(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));

/** The TRL folder of a run (see the header). Throws TrlExportError naming what the run lacks. */
export function trlFolder(run: PipelineRun): HfFiles {
  const stages = inRunOrder(run.stages);
  const rl = stages.filter(isRl);
  const trainsRm = stages.includes('rm');
  const needsRm = rl.some((s) => s !== 'dpo');
  if ((trainsRm || rl.includes('dpo')) && !run.rankings) throw new TrlExportError('the run has no preference rankings (preferences.jsonl): run its reward-model stage first');
  const files: HfFiles = {
    'data/prompts.jsonl': jsonl(run.prompts.train.map((prompt) => ({ prompt }))),
    'data/prompts-heldout.jsonl': jsonl(run.prompts.heldout.map((prompt) => ({ prompt }))),
    'data/sft.jsonl': jsonl(run.demonstrations.map(({ prompt, completion }) => ({ prompt, completion }))),
  };
  if (run.rankings) {
    files['data/preferences.jsonl'] = jsonl(preferencePairs(run.rankings.train));
    files['data/preferences-heldout.jsonl'] = jsonl(preferencePairs(run.rankings.heldout));
  }
  const models = ['base', 'sft', ...(needsRm && !trainsRm ? ['reward-model'] : [])];
  for (const name of models) {
    const bytes = run.checkpoints[name];
    if (!bytes) throw new TrlExportError(`the run has no ${name} checkpoint (checkpoints/${name}.safetensors)${name === 'reward-model' ? `: its RL stages need a reward model and it trained none${run.checkpoints[ENSEMBLE_CHECKPOINT] ? ' (TRL has no ensemble)' : ''}` : ''}`);
    for (const [path, b] of Object.entries(hfFolder(loadCheckpoint(bytes), name, run))) files[`models/${name}/${path}`] = b;
  }
  files['train_trl.py'] = utf8(trainScript(run, stages, rl));
  files['requirements.txt'] = utf8(`# train_trl.py is written for these versions (TRL's argument names change between releases)\n${REQUIREMENTS.join('\n')}\n`);
  return files;
}

/** A Python literal. */
function py(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v);
}

function table(rows: readonly SettingRow[]): string {
  const cells = rows.map((r) => [r.setting, JSON.stringify(r.value), r.trl ?? 'no TRL equivalent', r.note]);
  const widths = [0, 1, 2].map((i) => Math.max(...cells.map((c) => c[i].length), 11));
  const line = (c: string[]) => `| ${c.slice(0, 3).map((x, i) => x.padEnd(widths[i])).join(' | ')} | ${c[3]}`.trimEnd();
  return [line(['lab setting', 'value', 'TRL argument', 'note']), ...cells.map(line)].join('\n');
}

/** train_trl.py (see the header). */
function trainScript(run: PipelineRun, stages: readonly StageId[], rl: readonly RlStage[]): string {
  const c = run.config;
  const pairs = (c.labels.k * (c.labels.k - 1)) / 2;
  const context = loadCheckpoint(run.checkpoints.base).config.contextLength;
  const rlCalls = rl.map((s) => `    ${s}(policy${s === 'dpo' ? '' : ', reward'})`).join('\n');
  const trainsSft = stages.includes('sft') && c.sft.steps > 0;
  const policyStart = trainsSft ? 'sft()' : c.sft.steps === 0 ? 'path("models", "base")  # sft.steps 0: the base model is the SFT policy' : 'path("models", "sft")  # the run did not train SFT: the lab\'s SFT model';
  const rewardStart = stages.includes('rm') ? 'reward_model(policy)' : rl.some((s) => s !== 'dpo') ? 'path("models", "reward-model")  # the run did not train its reward model: the lab\'s' : 'None';
  const sections: string[] = [];
  if (trainsSft) {
    sections.push(`def sft():
    tok = tokenizer(path("models", "base"))
    rows = data("sft.jsonl").map(lambda r: {"prompt": lab_prompt(tok, r["prompt"]), "completion": r["completion"]})
    config = training_args(trl.SFTConfig, "sft", max_steps=${py(c.sft.steps)}, per_device_train_batch_size=${py(c.sft.batchSize)}, max_length=${py(c.sft.seq)},
                           learning_rate=${py(c.sft.lr)}, warmup_steps=${py(c.sft.warmup)}, lr_scheduler_type="cosine", completion_only_loss=True, packing=False)
    trainer = trl.SFTTrainer(model=AutoModelForCausalLM.from_pretrained(path("models", "base")), args=config, train_dataset=rows, processing_class=tok)
    trainer.train()
    return save(trainer, tok, "sft")
`);
  }
  if (stages.includes('rm')) {
    sections.push(`def reward_model(start):
    tok = tokenizer(start)

    def lab_pair(r):  # implicit-prompt pairs: [BOS] prompt [SEP] completion [EOS], scored at the EOS
        return {k: lab_prompt(tok, r["prompt"]) + r[k] + tok.eos_token for k in ("chosen", "rejected")}

    rows, heldout = (data(f).map(lab_pair, remove_columns=["prompt"]) for f in ("preferences.jsonl", "preferences-heldout.jsonl"))
    model = AutoModelForSequenceClassification.from_pretrained(start, num_labels=1)
    if tok.pad_token_id == tok.eos_token_id:  # a GPT-2-family base pads with its EOS: the score would skip the EOS
        tok.add_special_tokens({"pad_token": "<|pad|>"})
        model.resize_token_embeddings(len(tok))
    model.config.pad_token_id = tok.pad_token_id
    config = training_args(trl.RewardConfig, "reward-model", num_train_epochs=${py(c.rm.epochs)}, per_device_train_batch_size=${py(c.rm.groupsPerStep * pairs)},
                           learning_rate=${py(c.rm.lr)}, warmup_steps=${py(c.rm.warmup)}, lr_scheduler_type="constant_with_warmup", max_length=${py(context)}, disable_dropout=True)
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
`);
  }
  if (rl.some((s) => s === 'grpo' || s === 'rloo')) {
    sections.push(`def reward_function(reward_dir):
    """The reward model's score of [BOS] prompt [SEP] completion [EOS] (the prompts carry BOS and SEP already)."""
    tok = tokenizer(reward_dir)
    model = AutoModelForSequenceClassification.from_pretrained(reward_dir).to(device()).eval()

    def lab_reward(prompts, completions, **kwargs):
        batch = tok([p + c + tok.eos_token for p, c in zip(prompts, completions)], return_tensors="pt", padding=True).to(model.device)
        with torch.no_grad():
            return model(**batch).logits[:, 0].tolist()

    return lab_reward
`);
  }
  const promptRows = `tok = tokenizer(policy, padding_side="left")
    rows = data("prompts.jsonl").map(lambda r: {"prompt": lab_prompt(tok, r["prompt"])})`;
  if (rl.includes('ppo')) {
    const p = c.ppo;
    sections.push(`def ppo(policy, reward):
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
`);
  }
  if (rl.includes('dpo')) {
    const d = c.dpo;
    sections.push(`def dpo(policy):
    tok = tokenizer(policy)

    def lab_pair(r):  # DPOTrainer appends EOS to chosen and rejected itself
        return {"prompt": lab_prompt(tok, r["prompt"]), "chosen": r["chosen"], "rejected": r["rejected"]}

    rows, heldout = (data(f).map(lab_pair) for f in ("preferences.jsonl", "preferences-heldout.jsonl"))
    config = training_args(trl.DPOConfig, "dpo", num_train_epochs=${py(d.epochs)}, per_device_train_batch_size=${py(d.groupsPerStep * pairs)}, learning_rate=${py(d.lr)},
                           warmup_steps=${py(d.warmup)}, lr_scheduler_type="constant_with_warmup", beta=${py(d.beta)}, loss_type=${py(d.loss)},
                           max_length=${py(context)}, eval_strategy="steps", eval_steps=${py(d.evalEvery)})
    trainer = trl.DPOTrainer(model=AutoModelForCausalLM.from_pretrained(policy), args=config, train_dataset=rows, eval_dataset=heldout, processing_class=tok)
    trainer.train()
    save(trainer, tok, "dpo")
`);
  }
  if (rl.includes('grpo')) {
    const g = c.grpo;
    const batch = g.promptsPerIteration * g.groupSize;
    sections.push(`def grpo(policy, reward):
    ${promptRows}
    config = training_args(trl.GRPOConfig, "grpo", max_steps=${py((g.episodes / batch) * g.iterations)}, per_device_train_batch_size=${py(batch)}, num_generations=${py(g.groupSize)},
                           learning_rate=${py(g.lr)}, warmup_steps=${py(g.warmup)}, lr_scheduler_type="constant_with_warmup", epsilon=${py(g.epsLow)}, epsilon_high=${py(g.epsHigh)},
                           beta=${py(g.beta)}, scale_rewards=${py(g.scaleRewards)}, loss_type=${py(g.lossType)}, num_iterations=${py(g.iterations)}, max_grad_norm=${py(g.gradClip)},
                           max_completion_length=${py(c.ppo.maxResponseTokens)}, temperature=1.0)
    trainer = trl.GRPOTrainer(model=AutoModelForCausalLM.from_pretrained(policy), reward_funcs=reward_function(reward), args=config, train_dataset=rows, processing_class=tok)
    trainer.train()
    save(trainer, tok, "grpo")
`);
  }
  if (rl.includes('rloo')) {
    const r = c.rloo;
    const batch = r.promptsPerIteration * r.k;
    sections.push(`def rloo(policy, reward):
    ${promptRows}
    config = training_args(trl.RLOOConfig, "rloo", max_steps=${py(r.episodes / batch)}, per_device_train_batch_size=${py(batch)}, num_generations=${py(r.k)},
                           learning_rate=${py(r.lr)}, warmup_steps=${py(r.warmup)}, lr_scheduler_type="constant_with_warmup", beta=${py(r.beta)}, max_grad_norm=${py(r.gradClip)},
                           max_completion_length=${py(c.ppo.maxResponseTokens)}, temperature=1.0)
    trainer = trl.RLOOTrainer(model=AutoModelForCausalLM.from_pretrained(policy), reward_funcs=reward_function(reward), args=config, train_dataset=rows, processing_class=tok)
    trainer.train()
    save(trainer, tok, "rloo")
`);
  }
  const header = `"""RLHF Lab run → Hugging Face TRL ${TRL_VERSION}: task ${c.task}, preset ${c.preset}, seed ${c.seed}.
Stages of the run: ${stages.map((s) => STAGE_NAMES[s]).join(' → ')}. Made by: ${run.origin}
This script reruns ${['SFTTrainer', ...(stages.includes('rm') ? ['RewardTrainer'] : []), ...rl.map((s) => RL_TRAINERS[s])].join(' → ')} on the run's data (data/) from its base model (models/base).

    pip install -r requirements.txt
    python train_trl.py              # one machine
    accelerate launch train_trl.py   # many GPUs (batch sizes are per process: divide them by the number of processes to keep the lab's)
    python train_trl.py --smoke      # every stage for 2 steps on the CPU: a check that it all runs

The data spells the lab's layout [BOS] prompt [SEP] response [EOS] with the special tokens' strings, so the tokenizer
is loaded with split_special_tokens=False (the exported folders keep it True: there, "<|eos|>" in text stays text).
Models are written to out/<stage>/.

Lab setting → TRL argument (every setting of the run):
${table(settingRows(c, run.stages))}
"""
import argparse
import os

import torch
import trl
from datasets import load_dataset
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = ${py(c.seed)}
SMOKE = False
# --smoke: 2 steps on the CPU with batches of 2 (PPO: 4 episodes in 2 batches) and 8 rows of each file.
SMOKE_ARGS = {
    "SFTConfig": dict(per_device_train_batch_size=2),
    "RewardConfig": dict(per_device_train_batch_size=2, per_device_eval_batch_size=2),
    "DPOConfig": dict(per_device_train_batch_size=2, per_device_eval_batch_size=2, eval_steps=1),
    "GRPOConfig": dict(per_device_train_batch_size=2, num_generations=2),
    "RLOOConfig": dict(per_device_train_batch_size=2, num_generations=2),
    "PPOConfig": dict(per_device_train_batch_size=2, num_mini_batches=1, total_episodes=4, local_rollout_forward_batch_size=2, num_sample_generations=0),
}


def path(*parts):
    return os.path.join(HERE, *parts)


def device():
    if SMOKE or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))


def data(name):
    rows = load_dataset("json", data_files=path("data", name), split="train")
    return rows.select(range(min(8, len(rows)))) if SMOKE else rows


def tokenizer(model_dir, padding_side="right"):
    tok = AutoTokenizer.from_pretrained(model_dir, split_special_tokens=False)
    tok.padding_side = padding_side
    return tok


def lab_prompt(tok, prompt):
    """The lab's query: [BOS] prompt [SEP]; the response follows it."""
    return tok.bos_token + prompt + tok.sep_token


def training_args(config_class, name, **kwargs):
    if SMOKE:
        kwargs.update(SMOKE_ARGS[config_class.__name__], max_steps=2, use_cpu=True)
    return config_class(output_dir=path("out", name), seed=SEED, report_to="none", save_strategy="no", logging_steps=1 if SMOKE else 10, **kwargs)


def save(trainer, tok, name):
    trainer.save_model(path("out", name))
    tok.save_pretrained(path("out", name))
    return path("out", name)


${sections.join('\n\n')}

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="every stage for 2 steps on the CPU")
    SMOKE = parser.parse_args().smoke
    policy = ${policyStart}
    reward = ${rewardStart}
${rlCalls || '    pass  # the run has no RL stage'}
`;
  return header;
}
