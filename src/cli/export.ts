// `npm run export -- --checkpoint <in.safetensors> [--onnx <out.onnx>] [--hf <dir>]`: a checkpoint (src/model/checkpoint.ts,
// fully validated) → the model's forward pass as ONNX (src/onnx/gpt-export.ts) and/or a Hugging Face folder
// (src/hf/folder.ts); `npm run export -- --run <dir> --trl <out>`: an `npm run pipeline` folder → its data, models and
// a TRL script (src/hf/trl.ts). One summary line per output.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hfFolder, type HfFiles } from '../hf/folder';
import { type PipelineRun, trlFolder } from '../hf/trl';
import { loadCheckpoint, type Checkpoint } from '../model/checkpoint';
import { parameterCount } from '../model/config';
import { exportGptOnnx, ONNX_OPSET } from '../onnx/gpt-export';
import { configProblems, withNewSettings } from '../rlhf/config';
import { PreferenceDataset } from '../rlhf/preferences';
import { CHECKPOINT_NAMES } from '../rlhf/stages';
import { createTask, TASK_IDS, type TaskId } from '../rlhf/tasks';
import type { PipelineRunFile } from './pipeline';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const USAGE = `usage: npm run export -- --checkpoint <in.safetensors> [--onnx <out.onnx>] [--hf <dir>]
       npm run export -- --run <pipeline-out> --trl <dir>

--onnx writes the forward pass of a checkpoint's GPT (tokens int64 [batch, seq] → logits float32 [batch, seq, vocab])
as an ONNX model (opset ${ONNX_OPSET}) that ONNX Runtime runs. --hf writes a Hugging Face folder that transformers'
from_pretrained loads (config.json, model.safetensors, tokenizer files, README.md): a policy as GPT2LMHeadModel, a
reward model as GPT2ForSequenceClassification, a reward ensemble as one folder per member. --trl turns a folder
\`npm run pipeline\` wrote into the run's data in TRL's formats, the base and SFT models as Hugging Face folders, and
train_trl.py + requirements.txt that rerun its stages with TRL's trainers.

options:
  --checkpoint FILE  a checkpoint saved by RLHF Lab (safetensors with GPT-2 tensor names and its config)
  --onnx FILE        the .onnx file to write (overwritten)
  --hf DIR           the Hugging Face folder to write (created; its files overwritten)
  --run DIR          a folder \`npm run pipeline -- --out DIR\` wrote
  --trl DIR          the TRL folder to write (created; its files overwritten)
  -h, --help         this text`;

/** A bad command line: main prints it with the usage and exits with status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A checkpoint to ONNX and/or a Hugging Face folder, or a pipeline run to a TRL folder. */
export type ExportOptions = { checkpoint: string; onnx?: string; hf?: string } | { run: string; trl: string };

const FLAGS = { '--checkpoint': 'checkpoint', '--onnx': 'onnx', '--hf': 'hf', '--run': 'run', '--trl': 'trl' } as const;
type Key = (typeof FLAGS)[keyof typeof FLAGS];

/** Parses the flags (also `--flag=value`), or returns 'help'. Throws UsageError. */
export function parseExportArgs(args: readonly string[]): ExportOptions | 'help' {
  const opts: Partial<Record<Key, string>> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') continue;
    if (arg === '-h' || arg === '--help') return 'help';
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const key = Object.hasOwn(FLAGS, flag) ? FLAGS[flag as keyof typeof FLAGS] : undefined;
    if (key === undefined) throw new UsageError(arg.startsWith('-') ? `unknown option ${flag}` : `unexpected argument "${arg}"`);
    const value = flag !== arg ? arg.slice(eq + 1) : args[++i];
    if (value === undefined || value === '' || value.startsWith('--')) throw new UsageError(`${flag} needs a ${key === 'onnx' || key === 'checkpoint' ? 'file' : 'folder'} name`);
    if (opts[key] !== undefined) throw new UsageError(`${flag} given twice`);
    opts[key] = value;
  }
  const { checkpoint, onnx, hf, run, trl } = opts;
  if (run !== undefined || trl !== undefined) {
    if (checkpoint !== undefined || onnx !== undefined || hf !== undefined) throw new UsageError('--run/--trl export a pipeline run; --checkpoint/--onnx/--hf a checkpoint: give one or the other');
    if (run === undefined) throw new UsageError('missing --run <pipeline-out> (the folder npm run pipeline wrote)');
    if (trl === undefined) throw new UsageError('missing --trl <dir>');
    return { run, trl };
  }
  if (checkpoint === undefined) throw new UsageError('missing --checkpoint <in.safetensors> (or --run <pipeline-out> --trl <dir>)');
  if (onnx === undefined && hf === undefined) throw new UsageError('missing --onnx <out.onnx> or --hf <dir> (or both)');
  return { checkpoint, onnx, hf };
}

/** Writes `files` under `dir` (creating folders). */
export function writeFiles(dir: string, files: HfFiles): void {
  try {
    for (const [path, bytes] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), bytes);
    }
  } catch (e) {
    throw new Error(`cannot write ${dir}: ${(e as Error).message}`);
  }
}

/**
 * An `npm run pipeline` output folder as a run: run.json (its configuration), checkpoints/, preferences*.jsonl,
 * summary.json; the task's prompts and demonstrations rebuilt from (task, seed) as the pipeline built them, and the
 * bundled base model when the run did not pretrain its own (as the pipeline does). Throws naming a missing file.
 */
export function readPipelineRun(dir: string): PipelineRun & { newSettings: readonly string[] } {
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  if (!existsSync(join(dir, 'run.json'))) throw new Error(`${dir} has no run.json: is it a folder npm run pipeline wrote (run.json came with the TRL export; rerun the pipeline)?`);
  let file: PipelineRunFile;
  try {
    file = JSON.parse(read('run.json')) as PipelineRunFile;
  } catch (e) {
    throw new Error(`${join(dir, 'run.json')}: ${(e as Error).message}`);
  }
  const { stages } = file;
  const { config, added } = file.config && typeof file.config === 'object' ? withNewSettings(file.config) : { config: file.config, added: [] };
  const problems = config && typeof config === 'object' ? configProblems(config) : [{ field: 'config', message: 'is missing' }];
  if (problems.length > 0 || !Array.isArray(stages)) throw new Error(`${join(dir, 'run.json')}: ${problems.map((p) => `${p.field} ${p.message}`).join('; ') || 'stages is not a list'}`);
  if (!(TASK_IDS as readonly string[]).includes(config.task)) throw new Error(`${join(dir, 'run.json')}: unknown task "${config.task}"`);
  const task = createTask(config.task as TaskId, { seed: config.seed, maxResponseTokens: config.ppo.maxResponseTokens });
  const checkpoints: Record<string, Uint8Array> = {};
  for (const name of CHECKPOINT_NAMES) {
    const path = join(dir, 'checkpoints', `${name}.safetensors`);
    if (existsSync(path)) checkpoints[name] = readFileSync(path);
  }
  checkpoints.base ??= readFileSync(join(ROOT, 'public/models/base-tiny.safetensors'));
  const rankings = existsSync(join(dir, 'preferences.jsonl'))
    ? { train: PreferenceDataset.fromJsonl(read('preferences.jsonl')).rankings, heldout: existsSync(join(dir, 'preferences-heldout.jsonl')) ? PreferenceDataset.fromJsonl(read('preferences-heldout.jsonl')).rankings : [] }
    : undefined;
  const summary = existsSync(join(dir, 'summary.json')) ? (JSON.parse(read('summary.json')) as Record<string, unknown>) : undefined;
  return { config, stages, origin: `\`${file.command}\``, summary, prompts: task.prompts, demonstrations: task.demonstrations, rankings, checkpoints, newSettings: added };
}

/** Reads, validates and exports; returns the summary lines. Throws on any failure before writing anything it read badly. */
export async function runExport(opts: ExportOptions): Promise<string[]> {
  if ('run' in opts) {
    const run = readPipelineRun(opts.run);
    const files = await trlFolder(run);
    writeFiles(opts.trl, files);
    const older = run.newSettings.length > 0 ? [`${opts.run}/run.json predates ${run.newSettings.length} setting(s), taken at their preset defaults: ${run.newSettings.join(', ')}`] : [];
    return [...older, `wrote ${opts.trl}: ${Object.keys(files).length} files — python train_trl.py (one machine), accelerate launch train_trl.py (many GPUs), python train_trl.py --smoke (a 2-step check on CPU)`];
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(opts.checkpoint);
  } catch (e) {
    throw new Error(`cannot read checkpoint ${opts.checkpoint}: ${(e as Error).message}`);
  }
  let model: Checkpoint;
  try {
    model = loadCheckpoint(bytes);
  } catch (e) {
    throw new Error(`${opts.checkpoint}: ${(e as Error).message}`);
  }
  // Both outputs are made before either is written.
  const hf = opts.hf === undefined ? undefined : hfFolder(model, opts.checkpoint);
  const onnx = opts.onnx === undefined ? undefined : exportGptOnnx(model.config, model.weights);
  const lines: string[] = [];
  const { vocabSize, contextLength, nLayer, nHead, dModel } = model.config;
  const shape = `${parameterCount(model.config).toLocaleString('en-US')} params (${nLayer} layers, d ${dModel}, ${nHead} heads, ctx ${contextLength}), vocab ${vocabSize}`;
  if (opts.onnx !== undefined && onnx) {
    try {
      writeFileSync(opts.onnx, onnx);
    } catch (e) {
      throw new Error(`cannot write ${opts.onnx}: ${(e as Error).message}`);
    }
    lines.push(`wrote ${opts.onnx}: ${shape}, ${onnx.length.toLocaleString('en-US')} bytes, opset ${ONNX_OPSET}`);
  }
  if (opts.hf !== undefined && hf) {
    writeFiles(opts.hf, hf);
    const architecture = model.head === 'score' ? 'GPT2ForSequenceClassification' : 'GPT2LMHeadModel';
    lines.push(`wrote ${opts.hf}: ${architecture}${model.members ? ` × ${model.members} members` : ''}, ${shape}, ${Object.keys(hf).length} files`);
  }
  return lines;
}

/** The CLI: returns the exit status (0 ok, 1 failure, 2 usage error); prints to the given streams. */
export async function main(args: readonly string[], out = console.log, err = console.error): Promise<number> {
  try {
    const opts = parseExportArgs(args);
    if (opts === 'help') {
      out(USAGE);
      return 0;
    }
    for (const line of await runExport(opts)) out(line);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`${e.message}\n\n${USAGE}`);
      return 2;
    }
    err(`export failed: ${(e as Error).message}`);
    return 1;
  }
}

// Run as a script (vite-node); tests import main instead (Vitest sets VITEST).
if (!process.env.VITEST) process.exitCode = await main(process.argv.slice(2));
