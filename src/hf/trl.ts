// "Continue in TRL": a pipeline run as a folder that reruns its stages with Hugging Face TRL at scale —
//   data/       the run's data in TRL's dataset formats: prompts.jsonl {"prompt"} (training prompts; -heldout too),
//               sft.jsonl {"prompt","completion"} (the demonstrations), preferences.jsonl {"prompt","chosen","rejected"}
//               (every ranking of the reward model's training split expanded into all its K(K−1)/2 ordered pairs;
//               -heldout the held-out split's)
//   models/     the Hugging Face folders (./folder.ts) of the base and SFT models (and of the reward model when the
//               run used one it did not train)
//   train_trl.py, requirements.txt   the run's stages with TRL's trainers (SFTTrainer → RewardTrainer → PPOTrainer,
//               DPOTrainer, GRPOTrainer, RLOOTrainer) and the lab's hyperparameters; its header maps every setting of the
//               run to its TRL argument or says that TRL has none.
// What each stage contributes (its Python, its settings' rows, what it needs) is the stage's own: its descriptor's
// `trl` says why TRL does not rerun it, or loads its ../rlhf/stages/<id>-trl.ts. This file only assembles them.
// TRL's API changes between versions: the script is written for TRL_VERSION's argument names, pinned in requirements.txt.
import { loadCheckpoint } from '../model/checkpoint';
import type { SftExample } from '../model/data';
import type { PipelineConfig } from '../rlhf/config';
import type { Ranking } from '../rlhf/preferences';
import { ENSEMBLE_CHECKPOINT } from '../rlhf/reward-source-kinds';
import { inRunOrder, stageById, STAGE_NAMES, type StageId } from '../rlhf/stages';
import { py } from '../rlhf/stages/trl-python';
import type { StageTrl, TrlSetting } from '../rlhf/stages/types';
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

/** The settings no stage owns → [their TRL argument, or null; why]. */
const RUN_SETTINGS: Readonly<Record<string, TrlSetting>> = {
  task: [null, "the lab's task: its prompts, demonstrations and rankings are the data/ files"],
  preset: [null, 'model size: the models/ folders carry it (config.json)'],
  seed: ['TrainingArguments.seed', 'every trainer'],
};

/** A stage of the run as the export sees it: rerun by TRL (its module loaded) or not, and why. */
type TrlStage = { readonly id: StageId; readonly trl: StageTrl } | { readonly id: StageId; readonly notRerun: string };

async function trlStages(ids: readonly string[]): Promise<TrlStage[]> {
  return Promise.all(
    inRunOrder(ids).map(async (id): Promise<TrlStage> => {
      const link = stageById(id).trl;
      return 'notRerun' in link ? { id, notRerun: link.notRerun } : { id, trl: (await link.load()).trl };
    }),
  );
}

export interface SettingRow {
  /** Dotted path, e.g. "ppo.klCoef". */
  setting: string;
  value: unknown;
  trl: string | null;
  note: string;
}

/** Every setting of the run (task, preset, seed and each section of its stages, leaf by leaf) with its mapping. */
function settingRows(config: PipelineConfig, stages: readonly TrlStage[]): SettingRow[] {
  const sections = config as unknown as Record<string, unknown>;
  const rows: SettingRow[] = Object.entries(RUN_SETTINGS).map(([setting, [trl, note]]) => ({ setting, value: sections[setting], trl, note }));
  for (const stage of stages) {
    const walk = (setting: string, value: unknown) => {
      if (value !== null && typeof value === 'object') for (const [k, x] of Object.entries(value)) walk(`${setting}.${k}`, x);
      else if ('notRerun' in stage) rows.push({ setting, value, trl: null, note: stage.notRerun });
      else {
        const mapped = stage.trl.settings[setting];
        if (!mapped) throw new TrlExportError(`no TRL mapping for the setting ${setting}`);
        rows.push({ setting, value, trl: mapped[0], note: mapped[1] });
      }
    };
    for (const { section } of stageById(stage.id).config ?? []) walk(section, sections[section]);
  }
  return rows;
}

/** A ranking (best first) as all its ordered pairs: completion i is chosen over j for every i < j. */
export function preferencePairs(rankings: readonly Ranking[]): { prompt: string; chosen: string; rejected: string }[] {
  return rankings.flatMap((r) => r.completions.flatMap((chosen, i) => r.completions.slice(i + 1).map((rejected) => ({ prompt: r.prompt, chosen, rejected }))));
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const jsonl = (rows: readonly unknown[]) => utf8(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));

/** The TRL folder of a run (see the header). Throws TrlExportError naming what the run lacks. */
export async function trlFolder(run: PipelineRun): Promise<HfFiles> {
  const stages = await trlStages(run.stages);
  const rerun = stages.flatMap((s) => ('trl' in s ? [s.trl] : []));
  if (rerun.some((t) => t.needsRankings) && !run.rankings) throw new TrlExportError('the run has no preference rankings (preferences.jsonl): run its reward-model stage first');
  const files: HfFiles = {
    'data/prompts.jsonl': jsonl(run.prompts.train.map((prompt) => ({ prompt }))),
    'data/prompts-heldout.jsonl': jsonl(run.prompts.heldout.map((prompt) => ({ prompt }))),
    'data/sft.jsonl': jsonl(run.demonstrations.map(({ prompt, completion }) => ({ prompt, completion }))),
  };
  if (run.rankings) {
    files['data/preferences.jsonl'] = jsonl(preferencePairs(run.rankings.train));
    files['data/preferences-heldout.jsonl'] = jsonl(preferencePairs(run.rankings.heldout));
  }
  const labReward = rerun.some((t) => t.needsReward) && !rerun.some((t) => t.provides === 'reward');
  for (const name of ['base', 'sft', ...(labReward ? ['reward-model'] : [])]) {
    const bytes = run.checkpoints[name];
    if (!bytes) throw new TrlExportError(`the run has no ${name} checkpoint (checkpoints/${name}.safetensors)${name === 'reward-model' ? `: its RL stages need a reward model and it trained none${run.checkpoints[ENSEMBLE_CHECKPOINT] ? ' (TRL has no ensemble)' : ''}` : ''}`);
    for (const [path, b] of Object.entries(hfFolder(loadCheckpoint(bytes), name, run))) files[`models/${name}/${path}`] = b;
  }
  files['train_trl.py'] = utf8(trainScript(run, stages, labReward));
  files['requirements.txt'] = utf8(`# train_trl.py is written for these versions (TRL's argument names change between releases)\n${REQUIREMENTS.join('\n')}\n`);
  return files;
}

function table(rows: readonly SettingRow[]): string {
  const cells = rows.map((r) => [r.setting, JSON.stringify(r.value), r.trl ?? 'no TRL equivalent', r.note]);
  const widths = [0, 1, 2].map((i) => Math.max(...cells.map((c) => c[i].length), 11));
  const line = (c: string[]) => `| ${c.slice(0, 3).map((x, i) => x.padEnd(widths[i])).join(' | ')} | ${c[3]}`.trimEnd();
  return [line(['lab setting', 'value', 'TRL argument', 'note']), ...cells.map(line)].join('\n');
}

/** train_trl.py (see the header). `labReward`: the RL stages use the lab's reward model (models/reward-model). */
function trainScript(run: PipelineRun, stages: readonly TrlStage[], labReward: boolean): string {
  const c = run.config;
  const model = { contextLength: loadCheckpoint(run.checkpoints.base).config.contextLength };
  const parts = stages.flatMap((s) => ('trl' in s ? [{ trl: s.trl, script: s.trl.script(c, model) }] : []));
  const provided = (what: 'policy' | 'reward') => parts.find((p) => p.trl.provides === what)?.script.call;
  const policyStart = provided('policy') ?? 'path("models", "sft")  # the run did not train SFT: the lab\'s SFT model';
  const rewardStart = provided('reward') ?? (labReward ? 'path("models", "reward-model")  # the run did not train its reward model: the lab\'s' : 'None');
  const rlCalls = parts.filter((p) => p.trl.provides === undefined).map((p) => `    ${p.script.call}`);
  const helpers = Object.assign({}, ...parts.map((p) => p.script.helpers)) as Record<string, string>;
  const sections = [...parts.map((p) => p.script.code).filter((code) => code !== ''), ...Object.values(helpers)];
  const trainers = parts.flatMap((p) => p.script.trainer ?? []);
  const smoke = parts.flatMap((p) => (p.script.smoke ? [`    "${p.script.smoke[0]}": ${p.script.smoke[1]},`] : []));
  const header = `"""RLHF Lab run → Hugging Face TRL ${TRL_VERSION}: task ${c.task}, preset ${c.preset}, seed ${c.seed}.
Stages of the run: ${stages.map((s) => STAGE_NAMES[s.id]).join(' → ')}. Made by: ${run.origin}
This script reruns ${trainers.length > 0 ? trainers.join(' → ') : 'nothing (TRL reruns none of the run’s stages)'} on the run's data (data/) from its base model (models/base).

    pip install -r requirements.txt
    python train_trl.py              # one machine
    accelerate launch train_trl.py   # many GPUs (batch sizes are per process: divide them by the number of processes to keep the lab's)
    python train_trl.py --smoke      # every stage for 2 steps on the CPU: a check that it all runs

The data spells the lab's layout [BOS] prompt [SEP] response [EOS] with the special tokens' strings, so the tokenizer
is loaded with split_special_tokens=False (the exported folders keep it True: there, "<|eos|>" in text stays text).
Models are written to out/<stage>/.

Lab setting → TRL argument (every setting of the run):
${table(settingRows(c, stages))}
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
${smoke.join('\n')}
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
${rlCalls.join('\n') || '    pass  # the run has no RL stage'}
`;
  return header;
}
