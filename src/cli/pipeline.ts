// `npm run pipeline -- [options]`: the whole RLHF pipeline headless in Node (Dawn: a real GPU driver or
// SwiftShader) — the same src/rlhf/pipeline.ts the page's worker runs. Writes into --out:
//   metrics.jsonl   one object per logged step: {"stage","step","<metric name>": value, …} (src/rlhf/metrics.ts)
//   samples.jsonl   held-out evaluation samples {"prompt","response","policy":"sft"|<policy stage>|"bon-<N>","proxy","gold"}
//   episodes.jsonl  every RL rollout (PPO's episodes, GRPO's and RLOO's completions with their group): stage,
//                   iteration, prompt, response, score, gold, per-token KL/advantage/log-prob
//   summary.json    the headline numbers (see PipelineCliSummary; `policies` has every trained policy's evaluation,
//                   `gao_fits` Gao et al.'s curves fitted to each method's gold-vs-√KL points (α, β, R², d*),
//                   `alarms` the metric alarms that stopped a stage)
//   checkpoints/    one safetensors file per checkpoint a stage wrote (base when pretrained, sft, reward-model, …)
//                   or --from started the run from (with --from's preferences*.jsonl: the folder stands alone)
//   run.json        how the run was made: {task, preset, seed, stages, command, config} (the whole PipelineConfig)
//   preferences.jsonl, preferences-heldout.jsonl  the rankings the reward model trained and was measured on, when a
//                   stage made them (PreferenceDataset's format); `npm run export -- --run DIR --trl OUT` reads all this
// --base DIR makes a Hugging Face GPT-2 folder the base model instead of the bundled one (src/model/hf-model.ts).
// --stages, --set and --help come from the stage registry (src/rlhf/stages/index.ts) and the config sections.
// and prints a line per stage and per PPO iteration.
// A metric alarm (src/rlhf/metrics.ts checkAlarms) is an outcome, not a crash, as on the page: it stops its stage (a
// policy stage keeps its last good weights), the later stages run on what it kept, summary.json lists it in `alarms`
// and the exit status stays 0 — unless --fail-on-alarm, which makes it EXIT_ALARM once every file is written.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MemoryBudget } from '../gpu';
import { createNodeRuntime } from '../gpu/node';
import { HF_MODEL_FILES, hfBaseCheckpoint, readHfModel } from '../model/hf-model';
import { loadCheckpoint } from '../model/checkpoint';
import { PRESETS, type PresetName } from '../model/config';
import { makePipelineConfig, type PipelineConfig, PipelineConfigError, STAGE_SETTING_DOCS } from '../rlhf/config';
import { PreferenceDataset } from '../rlhf/preferences';
import type { Alarm } from '../rlhf/metrics';
import { createPipeline, STAGES, type PipelineStage, type PipelineSummary } from '../rlhf/pipeline';
import { CHECKPOINT_NAMES, DEFAULT_STAGES, STAGE_REGISTRY } from '../rlhf/stages';
import type { SettingDoc } from '../rlhf/stages/types';
import { TASK_IDS } from '../rlhf/tasks';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Named flags for the settings changed most often; --set reaches every other one. */
const ALIASES: Readonly<Record<string, string>> = {
  '--kl-coef': 'ppo.klCoef',
  '--ptx-coef': 'ppo.ptxCoef',
  '--episodes': 'ppo.episodes',
  '--labels': 'labels.prompts',
  '--bon-max': 'bon.maxN',
  '--k': 'labels.k',
  '--sft-steps': 'sft.steps',
  '--kl-estimator': 'ppo.klEstimator',
  '--adaptive-kl-target': 'ppo.adaptiveKL.target',
};

/** The exit status of a run a metric alarm stopped a stage of, with --fail-on-alarm (1: it failed, 2: bad usage). */
export const EXIT_ALARM = 3;

/** The stages, one line each, from the registry. */
const STAGE_LINES = STAGE_REGISTRY.map((s) => `  ${s.id.padEnd(9)} ${s.name}${s.byDefault ? '' : ' (not run unless named)'}: ${s.teaching.what.split('. ')[0].replace(/\.$/, '')}`).join('\n');
/** A documented setting's values in words. */
function settingValues(doc: SettingDoc): string {
  switch (doc.kind) {
    case 'choice':
      return doc.options.join(' | ');
    case 'boolean':
      return 'true | false';
    case 'optional':
      return `off, or on by setting its ${Object.keys(doc.fields).join(' or ')}`;
    case 'int': {
      return `integer in [${doc.min}, ${typeof doc.max === 'object' ? doc.max.text : doc.max}]`;
    }
    case 'number':
      return `number in ${doc.minOpen ? '(' : '['}${doc.min}, ${doc.max}]`;
  }
}
const PATH_WIDTH = Math.max(...Object.keys(STAGE_SETTING_DOCS).map((path) => path.length));
/** Every documented setting of the stages' sections, in their order. */
const SETTING_LINES = Object.entries(STAGE_SETTING_DOCS)
  .map(([path, doc]) => `  ${path.padEnd(PATH_WIDTH)}  ${settingValues(doc)}: ${doc.meaning}`)
  .join('\n');

export const USAGE = `usage: npm run pipeline -- [options]

Runs SFT → labels + reward model → PPO → best-of-N → evaluation (pretraining first when no bundled base model fits
the preset) and writes metrics.jsonl, samples.jsonl, episodes.jsonl, summary.json and checkpoints/ into --out.
Other alignment methods join with --stages, e.g. --stages sft,rm,ppo,dpo,eval compares PPO with DPO.

stages (run in this order):
${STAGE_LINES}

options:
  --task NAME          ${TASK_IDS.filter((t) => t !== 'custom').join(' | ')} (default sentiment)
  --preset NAME        ${Object.keys(PRESETS).join(' | ')} (default tiny)
  --seed N             seed of everything (default 1): the same seed gives the same numbers
  --out DIR            output folder (default pipeline-out/<task>-<preset>-<seed>)
  --stages LIST        comma-separated stages (default ${DEFAULT_STAGES.join(',')}; later stages need earlier ones)
  --base DIR           a Hugging Face GPT-2 folder as the base model (config.json, model.safetensors in F32, F16 or
                       BF16, tokenizer.json or vocab.json + merges.txt): SFT and the rest start from it, nothing is
                       pretrained, and settings over its context length are refused
  --from DIR           start from the checkpoints an earlier run wrote to DIR/checkpoints (${CHECKPOINT_NAMES.join(', ')}),
                       e.g. --from out/a --stages ppo,bon,eval --kl-coef 0 reruns RL alone
  --kl-coef X          β of the KL penalty (ppo.klCoef)
  --ptx-coef X         γ_ptx of PPO-ptx (ppo.ptxCoef; 0 = plain PPO)
  --episodes N         PPO episodes (ppo.episodes; a multiple of ppo.batchSize)
  --labels N           prompts ranked by the simulated labelers (labels.prompts)
  --bon-max N          largest N of best-of-N (bon.maxN)
  --k N                completions ranked per prompt, 4…9 (labels.k)
  --sft-steps N        SFT steps (sft.steps)
  --kl-estimator k1|k3 per-token KL estimator (ppo.klEstimator)
  --adaptive-kl-target X  adaptive KL controller with this target (ppo.adaptiveKL.target; horizon 10000)
  --set PATH=VALUE     any other setting by its dotted path, e.g. --set ppo.lr=5e-5 (repeatable):
${SETTING_LINES}
  --fail-on-alarm      exit with status ${EXIT_ALARM} when a metric alarm stopped a stage (after the later stages ran and every
                       file was written); without it an alarm is printed, listed in summary.json's alarms, and the
                       exit status is 0
  -h, --help           this text`;

export class UsageError extends Error {}

/** A metric alarm that stopped a stage (summary.json `alarms`); the later stages ran on the weights it kept. */
export interface AlarmRecord {
  stage: PipelineStage;
  step: number;
  metric: Alarm['metric'];
  /** The metric's value in the record that raised the alarm; null when it is NaN or infinite (the message says which). */
  value: number | null;
  message: string;
}

/** summary.json: the pipeline's summary and the alarms that stopped stages (none on a clean run). */
export interface PipelineCliSummary extends PipelineSummary {
  alarms: AlarmRecord[];
}

export interface PipelineCliOptions {
  task: string;
  preset: PresetName;
  seed: number;
  out: string;
  stages: PipelineStage[];
  overrides: Record<string, string>;
  /** A folder whose checkpoints/ seed the stages' weights. */
  from?: string;
  /** A Hugging Face GPT-2 folder to use as the base model. */
  base?: string;
  /** Exit with EXIT_ALARM when a metric alarm stopped a stage. */
  failOnAlarm: boolean;
}

/** run.json: what made the run, enough to rerun it (here or, through `npm run export -- --trl`, with TRL). */
export interface PipelineRunFile {
  task: string;
  preset: string;
  seed: number;
  stages: readonly string[];
  command: string;
  config: PipelineConfig;
}

/** The command line that reruns `opts` (every override spelled as --set). */
export function pipelineCommand(opts: PipelineCliOptions): string {
  const sets = Object.entries(opts.overrides).filter(([path]) => path !== 'task' && path !== 'seed').map(([path, v]) => ` --set ${path}=${v}`);
  return `npm run pipeline -- --task ${opts.task} --preset ${opts.preset} --seed ${opts.seed} --stages ${opts.stages.join(',')}${opts.from ? ` --from ${opts.from}` : ''}${sets.join('')}`;
}

export function parsePipelineArgs(args: readonly string[]): PipelineCliOptions | 'help' {
  const overrides: Record<string, string> = {};
  let task = 'sentiment';
  let preset = 'tiny';
  let seed = '1';
  let out: string | undefined;
  let from: string | undefined;
  let base: string | undefined;
  let stages: string[] = [...DEFAULT_STAGES];
  let failOnAlarm = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') continue;
    if (arg === '-h' || arg === '--help') return 'help';
    if (arg === '--fail-on-alarm') {
      failOnAlarm = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 && !arg.startsWith('--set=') ? arg.slice(0, eq) : arg.startsWith('--set=') ? '--set' : arg;
    const inline = flag !== arg ? arg.slice(flag.length + 1) : undefined;
    const value = inline ?? args[++i];
    if (!flag.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    if (value === undefined || value === '') throw new UsageError(`${flag} needs a value`);
    if (flag === '--task') task = value;
    else if (flag === '--preset') preset = value;
    else if (flag === '--seed') seed = value;
    else if (flag === '--out') out = value;
    else if (flag === '--from') from = value;
    else if (flag === '--base') base = value;
    else if (flag === '--stages') stages = value.split(',').map((s) => s.trim());
    else if (flag === '--fail-on-alarm') throw new UsageError('--fail-on-alarm takes no value');
    else if (flag === '--set') {
      const at = value.indexOf('=');
      if (at < 1) throw new UsageError(`--set needs PATH=VALUE, got "${value}"`);
      overrides[value.slice(0, at)] = value.slice(at + 1);
    } else if (Object.hasOwn(ALIASES, flag)) overrides[ALIASES[flag]] = value;
    else throw new UsageError(`unknown option ${flag}`);
  }
  if (!(TASK_IDS as readonly string[]).includes(task) || task === 'custom') throw new UsageError(`--task must be one of ${TASK_IDS.filter((t) => t !== 'custom').join(', ')}, got "${task}"`);
  if (!Object.hasOwn(PRESETS, preset)) throw new UsageError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, got "${preset}"`);
  if (!/^\d+$/.test(seed)) throw new UsageError(`--seed needs a non-negative integer, got "${seed}"`);
  const bad = stages.filter((s) => !(STAGES as readonly string[]).includes(s));
  if (bad.length) throw new UsageError(`--stages: unknown stage ${bad.join(', ')} (stages: ${STAGES.join(', ')})`);
  return { task, preset: preset as PresetName, seed: Number(seed), out: out ?? `pipeline-out/${task}-${preset}-${seed}`, stages: stages as PipelineStage[], overrides: { ...overrides, task, seed }, from, base, failOnAlarm };
}

/** Runs the pipeline and writes its files; returns summary.json's contents. */
export async function runPipelineCli(opts: PipelineCliOptions, log: (line: string) => void = console.log): Promise<PipelineCliSummary> {
  const config = makePipelineConfig(opts.preset, opts.overrides);
  const out = resolve(opts.out);
  mkdirSync(resolve(out, 'checkpoints'), { recursive: true });
  for (const f of ['metrics.jsonl', 'samples.jsonl', 'episodes.jsonl']) writeFileSync(resolve(out, f), '');
  const run: PipelineRunFile = { task: config.task, preset: config.preset, seed: config.seed, stages: opts.stages, command: pipelineCommand(opts), config };
  writeFileSync(resolve(out, 'run.json'), `${JSON.stringify(run, null, 2)}\n`);
  const rt = await createNodeRuntime();
  log(`adapter: ${rt.adapter.description}`);
  const fmt = (x: number | undefined) => (x === undefined ? 'n/a' : Math.abs(x) >= 100 || (Math.abs(x) < 0.01 && x !== 0) ? x.toExponential(2) : x.toFixed(3));
  try {
    const baseCheckpoint = opts.base ? hfFolderCheckpoint(opts.base, rt.memory) : readFileSync(resolve(ROOT, 'public/models/base-tiny.safetensors'));
    if (opts.base) log(`base model: the Hugging Face model in ${resolve(opts.base)}`);
    const pipeline = createPipeline(
      rt,
      config,
      { baseCheckpoint, chosenBase: opts.base !== undefined, corpus: readFileSync(resolve(ROOT, 'public/corpus/tiny-stories.txt'), 'utf8') },
      {
        stage: (stage, state, seconds) => log(`== ${stage} ${state}${seconds !== undefined ? ` in ${seconds.toFixed(1)} s` : ''}`),
        metrics: (r) => {
          appendFileSync(resolve(out, 'metrics.jsonl'), `${JSON.stringify(r)}\n`);
          // Optimizer steps every 10th; everything else (checks, evaluations, PPO iterations) always.
          if (r.step % 10 === 0 || !('lr' in r) || 'objective/kl' in r) log(`${r.stage} ${r.step}: ${Object.entries(r).filter(([k]) => k !== 'stage' && k !== 'step').map(([k, v]) => `${k} ${fmt(v as number)}`).join(' ')}`);
        },
        episodes: (stage, iteration, episodes) => appendFileSync(resolve(out, 'episodes.jsonl'), episodes.map((e) => `${JSON.stringify({ stage, iteration, ...e })}\n`).join('')),
        samples: (samples) => appendFileSync(resolve(out, 'samples.jsonl'), samples.map((s) => `${JSON.stringify(s)}\n`).join('')),
        checkpoint: (name, bytes) => writeFileSync(resolve(out, 'checkpoints', `${name}.safetensors`), bytes),
        log,
      },
    );
    if (opts.from) {
      // What the run starts from is copied into its own folder too (a stage that trains again overwrites it), so the
      // folder stands alone: --from it again, or export it (npm run export -- --run DIR --trl OUT).
      for (const name of CHECKPOINT_NAMES) {
        const file = resolve(opts.from, 'checkpoints', `${name}.safetensors`);
        if (!existsSync(file)) continue;
        const bytes = readFileSync(file);
        pipeline.weights[name] = loadCheckpoint(bytes, pipeline.modelConfig).weights;
        writeFileSync(resolve(out, 'checkpoints', `${name}.safetensors`), bytes);
        log(`loaded ${file}`);
      }
      for (const f of ['preferences.jsonl', 'preferences-heldout.jsonl']) if (existsSync(resolve(opts.from, f))) writeFileSync(resolve(out, f), readFileSync(resolve(opts.from, f)));
    }
    const alarms: AlarmRecord[] = [];
    const pipelineSummary = await pipeline.run(opts.stages, (e) => {
      alarms.push({ stage: e.stage, step: e.step, metric: e.alarm.metric, value: Number.isFinite(e.value) ? e.value : null, message: e.alarm.message });
      log(`== ${e.stage} stopped by an alarm at step ${e.step}: ${e.alarm.message}; the later stages run on its last good weights`);
    });
    const summary: PipelineCliSummary = { ...pipelineSummary, alarms };
    if (pipeline.rankings) {
      writeFileSync(resolve(out, 'preferences.jsonl'), new PreferenceDataset(pipeline.rankings.train).toJsonl());
      writeFileSync(resolve(out, 'preferences-heldout.jsonl'), new PreferenceDataset(pipeline.rankings.heldout).toJsonl());
    }
    writeFileSync(resolve(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    log(`wrote ${out}: summary.json, metrics.jsonl, samples.jsonl, episodes.jsonl, checkpoints/ (${summary.seconds.toFixed(0)} s)`);
    return summary;
  } finally {
    rt.destroy();
  }
}

/** The Hugging Face folder `dir` as a lab base checkpoint (its files checked against this device first). */
function hfFolderCheckpoint(dir: string, memory: MemoryBudget): Uint8Array {
  const files = HF_MODEL_FILES.filter((name) => existsSync(resolve(dir, name))).map((name) => ({ name, bytes: readFileSync(resolve(dir, name)) }));
  return hfBaseCheckpoint(readHfModel(files, memory), basename(resolve(dir)));
}

export async function main(args: readonly string[], out = console.log, err = console.error): Promise<number> {
  try {
    const opts = parsePipelineArgs(args);
    if (opts === 'help') {
      out(USAGE);
      return 0;
    }
    const { alarms } = await runPipelineCli(opts, out);
    if (opts.failOnAlarm && alarms.length > 0) {
      err(`--fail-on-alarm: ${alarms.map((a) => `${a.stage} stopped at step ${a.step} (${a.metric})`).join('; ')}`);
      return EXIT_ALARM;
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof PipelineConfigError) {
      err(`${e.message}\n\n${USAGE}`);
      return 2;
    }
    err(`pipeline failed: ${(e as Error).message}`);
    return 1;
  }
}

if (!process.env.VITEST) main(process.argv.slice(2)).then((code) => (process.exitCode = code));
