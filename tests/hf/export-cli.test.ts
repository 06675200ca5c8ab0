// `npm run export -- --checkpoint X --hf DIR` and `npm run export -- --run DIR --trl OUT`: the files on disk, the
// generated TRL script (valid Python, every setting of the run in its mapping table), the data in TRL's formats, and
// named errors for a run folder that lacks something.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { main, parseExportArgs } from '../../src/cli/export';
import { parsePipelineArgs, pipelineCommand } from '../../src/cli/pipeline';
import { loadCheckpoint, saveCheckpoint } from '../../src/model/checkpoint';
import { makeConfig } from '../../src/model/config';
import { makePipelineConfig } from '../../src/rlhf/config';
import { PreferenceDataset, type Ranking } from '../../src/rlhf/preferences';
import { stageById } from '../../src/rlhf/stages';
import { randomGptWeights } from '../helpers/gpt-fixtures';

const dir = mkdtempSync(join(tmpdir(), 'rlhf-hf-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await main(args, (l) => out.push(l), (l) => err.push(l));
  return { status, out: out.join('\n'), err: err.join('\n') };
}
const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('npm run export -- --hf', () => {
  test('the bundled base model: a folder transformers reads, one summary line; --onnx alongside', async () => {
    const hf = join(dir, 'base');
    const onnx = join(dir, 'base.onnx');
    const r = await run(['--checkpoint', 'public/models/base-tiny.safetensors', '--hf', hf, '--onnx', onnx]);
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    expect(r.out.split('\n')).toHaveLength(2);
    expect(r.out).toMatch(/wrote .*base: GPT2LMHeadModel, [\d,]+ params \(4 layers, d 64, 4 heads, ctx 128\), vocab 1024, 7 files/);
    expect(readdirSync(hf).sort()).toEqual(['README.md', 'config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
    expect(existsSync(onnx)).toBe(true);
  });

  test('usage: --onnx and --hf are alternatives, --run/--trl go together and not with --checkpoint', async () => {
    expect(parseExportArgs(['--checkpoint', 'a', '--hf', 'd'])).toEqual({ checkpoint: 'a', onnx: undefined, hf: 'd' });
    expect(parseExportArgs(['--run=r', '--trl=t'])).toEqual({ run: 'r', trl: 't' });
    for (const [args, message] of [
      [['--checkpoint', 'a'], /missing --onnx <out.onnx> or --hf <dir>/],
      [['--hf', 'd'], /missing --checkpoint <in.safetensors> \(or --run <pipeline-out> --trl <dir>\)/],
      [['--run', 'r'], /missing --trl <dir>/],
      [['--trl', 't'], /missing --run <pipeline-out>/],
      [['--run', 'r', '--trl', 't', '--checkpoint', 'a'], /give one or the other/],
      [['--hf'], /--hf needs a folder name/],
    ] as [string[], RegExp][]) {
      const r = await run(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err).toMatch(/npm run export -- --run <pipeline-out> --trl <dir>/);
    }
  });

  test('a checkpoint without a tokenizer exits 1 with a named error and writes nothing', async () => {
    const config = makeConfig('nano', { vocabSize: 40 });
    const file = join(dir, 'no-tokenizer.safetensors');
    writeFileSync(file, saveCheckpoint(randomGptWeights(config, 1), config, undefined));
    const r = await run(['--checkpoint', file, '--hf', join(dir, 'nothing')]);
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/export failed: Hugging Face export: .*no-tokenizer\.safetensors has no tokenizer in its metadata/);
    expect(existsSync(join(dir, 'nothing'))).toBe(false);
  });
});

describe('npm run export -- --run DIR --trl OUT', () => {
  const STAGES = ['sft', 'rm', 'ppo', 'dpo', 'grpo', 'rloo', 'bon', 'eval'];
  const config = makePipelineConfig('nano', { seed: 3, 'ppo.adaptiveKL.target': 6 });
  const baseJson = loadCheckpoint(readFileSync('public/models/base-tiny.safetensors')).tokenizerJson as { merges: unknown[] };
  const tokenizer = { ...baseJson, merges: baseJson.merges.slice(0, 40) };
  const model = makeConfig('nano', { vocabSize: 300 });
  const K = config.labels.k;
  const ranking = (p: number): Ranking => ({ prompt: `prompt ${p}`, completions: Array.from({ length: K }, (_, i) => `answer ${p}.${i}`), source: 'simulated' });

  function runFolder(name: string, parts: { runJson?: boolean; preferences?: boolean; sft?: boolean } = {}): string {
    const runDir = join(dir, name);
    mkdirSync(join(runDir, 'checkpoints'), { recursive: true });
    if (parts.runJson !== false) writeFileSync(join(runDir, 'run.json'), JSON.stringify({ task: 'sentiment', preset: 'nano', seed: 3, stages: STAGES, command: 'npm run pipeline -- --preset nano --seed 3', config }));
    writeFileSync(join(runDir, 'checkpoints/base.safetensors'), saveCheckpoint(randomGptWeights(model, 2), model, tokenizer));
    if (parts.sft !== false) writeFileSync(join(runDir, 'checkpoints/sft.safetensors'), saveCheckpoint(randomGptWeights(model, 3), model, tokenizer, { 'rlhf_lab.pipeline': JSON.stringify({ task: 'sentiment', stage: 'sft', seed: 3 }) }));
    if (parts.preferences !== false) {
      writeFileSync(join(runDir, 'preferences.jsonl'), new PreferenceDataset([0, 1, 2].map(ranking)).toJsonl());
      writeFileSync(join(runDir, 'preferences-heldout.jsonl'), new PreferenceDataset([3].map(ranking)).toJsonl());
    }
    writeFileSync(join(runDir, 'summary.json'), JSON.stringify({ sft: { steps: 8, final_loss: 2.5 } }));
    return runDir;
  }

  const out = join(dir, 'trl');
  let r: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    r = await run(['--run', runFolder('run'), '--trl', out]);
  });
  const script = () => readFileSync(join(out, 'train_trl.py'), 'utf8');

  test('writes the folder: data, models, script, requirements; one summary line', () => {
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/wrote .*trl: \d+ files — python train_trl\.py \(one machine\), accelerate launch train_trl\.py \(many GPUs\), python train_trl\.py --smoke/);
    for (const f of ['data/prompts.jsonl', 'data/prompts-heldout.jsonl', 'data/sft.jsonl', 'data/preferences.jsonl', 'data/preferences-heldout.jsonl', 'models/base/config.json', 'models/sft/model.safetensors', 'models/sft/tokenizer.json', 'train_trl.py', 'requirements.txt']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(readFileSync(join(out, 'requirements.txt'), 'utf8')).toMatch(/^trl==0\.24\.0$/m);
    expect(readFileSync(join(out, 'models/sft/README.md'), 'utf8')).toContain('Started by: `npm run pipeline -- --preset nano --seed 3`');
  });

  test('train_trl.py is valid Python', () => {
    const compiled = spawnSync('python3', ['-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])', join(out, 'train_trl.py')], { encoding: 'utf8' });
    expect(compiled.stderr).toBe('');
    expect(compiled.status).toBe(0);
    const pyCompile = spawnSync('python3', ['-m', 'py_compile', join(out, 'train_trl.py')], { encoding: 'utf8' });
    expect(pyCompile.stderr).toBe('');
    expect(pyCompile.status).toBe(0);
  });

  test('every setting of the run, enumerated from its config, is a row of the mapping table with its value', () => {
    const sections = config as unknown as Record<string, unknown>;
    const settings: [string, unknown][] = [['task', config.task], ['preset', config.preset], ['seed', config.seed]];
    const leaves = (path: string, v: unknown): void => {
      if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) leaves(`${path}.${k}`, x);
      else settings.push([path, v]);
    };
    for (const s of STAGES) for (const c of stageById(s)!.config ?? []) leaves(c.section, sections[c.section]);
    expect(settings.length).toBeGreaterThan(60);
    const header = script().slice(0, script().indexOf('"""', 3));
    for (const [path, value] of settings) expect(header, path).toMatch(new RegExp(`^\\| ${path.replace(/\./g, '\\.')} +\\| ${JSON.stringify(value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +\\| \\S`, 'm'));
    expect(header).toMatch(/^\| ppo\.adaptiveKL\.target +\| 6 +\| no TRL equivalent +\| PPOTrainer has no adaptive KL controller/m);
    expect(header).toMatch(/^\| ppo\.klCoef +\| 0\.05 +\| PPOConfig\.kl_coef/m);
  });

  test('the script runs the run’s stages with its hyperparameters, and has --smoke', () => {
    const s = script();
    expect(s).toContain('SFTTrainer → RewardTrainer → PPOTrainer → DPOTrainer → GRPOTrainer → RLOOTrainer');
    expect(s).toContain(`learning_rate=${config.sft.lr}`);
    expect(s).toContain(`kl_coef=${config.ppo.klCoef}`);
    expect(s).toContain(`num_generations=${config.grpo.groupSize}`);
    expect(s).toContain(`per_device_train_batch_size=${config.rm.groupsPerStep * (K * (K - 1)) / 2}`);
    expect(s).toContain('split_special_tokens=False');
    expect(s).toMatch(/add_argument\("--smoke"/);
    expect(s).toMatch(/^    ppo\(policy, reward\)\n    dpo\(policy\)\n    grpo\(policy, reward\)\n    rloo\(policy, reward\)$/m);
    expect(s.match(/^def reward_function\(/gm), 'GRPO and RLOO share one reward function').toHaveLength(1);
    expect(s).toMatch(/^    policy = sft\(\)\n    reward = reward_model\(policy\)$/m);
  });

  test('the data in TRL’s formats: every ranking of K as its K(K−1)/2 ordered pairs', () => {
    expect(lines(join(out, 'data/prompts.jsonl')).every((row) => Object.keys(row).join() === 'prompt')).toBe(true);
    const sft = lines(join(out, 'data/sft.jsonl'));
    expect(sft.length).toBeGreaterThan(0);
    expect(sft.every((row) => Object.keys(row).join() === 'prompt,completion')).toBe(true);
    const pairs = lines(join(out, 'data/preferences.jsonl'));
    expect(pairs).toHaveLength((3 * K * (K - 1)) / 2);
    expect(pairs.every((row) => Object.keys(row).join() === 'prompt,chosen,rejected')).toBe(true);
    const rank = (s: unknown) => Number(String(s).split('.')[1]);
    expect(pairs.every((p) => rank(p.chosen) < rank(p.rejected) && String(p.chosen).startsWith(`answer ${String(p.prompt).split(' ')[1]}.`))).toBe(true);
    expect(new Set(pairs.map((p) => `${p.chosen}>${p.rejected}`)).size).toBe(pairs.length);
    expect(lines(join(out, 'data/preferences-heldout.jsonl'))).toHaveLength((K * (K - 1)) / 2);
  });

  test('a run folder missing files: named errors, exit 1', async () => {
    const noRun = await run(['--run', runFolder('no-run-json', { runJson: false }), '--trl', join(dir, 'x1')]);
    expect(noRun.status).toBe(1);
    expect(noRun.err).toMatch(/no-run-json has no run\.json/);
    const noPrefs = await run(['--run', runFolder('no-preferences', { preferences: false }), '--trl', join(dir, 'x2')]);
    expect(noPrefs.err).toMatch(/TRL export: the run has no preference rankings \(preferences\.jsonl\)/);
    const noSft = await run(['--run', runFolder('no-sft', { sft: false }), '--trl', join(dir, 'x3')]);
    expect(noSft.err).toMatch(/TRL export: the run has no sft checkpoint \(checkpoints\/sft\.safetensors\)/);
    for (const x of ['x1', 'x2', 'x3']) expect(existsSync(join(dir, x))).toBe(false);
  });

  test('a run.json older than some settings: they take their preset defaults, and the export says which', async () => {
    const older = runFolder('older');
    const saved = JSON.parse(readFileSync(join(older, 'run.json'), 'utf8')) as { config: { grpo: Record<string, unknown> } };
    delete saved.config.grpo.dynamicSampling;
    writeFileSync(join(older, 'run.json'), JSON.stringify(saved));
    const r = await run(['--run', older, '--trl', join(dir, 'older-trl')]);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/older\/run\.json predates 1 setting\(s\), taken at their preset defaults: grpo\.dynamicSampling\n/);
    expect(readFileSync(join(dir, 'older-trl', 'train_trl.py'), 'utf8')).toMatch(/^\| grpo\.dynamicSampling +\| 0 +\| no TRL equivalent/m);
    const bad = JSON.parse(readFileSync(join(older, 'run.json'), 'utf8')) as { config: { grpo: Record<string, unknown> } };
    bad.config.grpo.groupSize = 'eight';
    writeFileSync(join(older, 'run.json'), JSON.stringify(bad));
    expect((await run(['--run', older, '--trl', join(dir, 'bad-trl')])).err).toMatch(/run\.json: grpo\.groupSize must be an integer/);
  });
});

test("run.json's command reruns the pipeline with the same settings", () => {
  const opts = parsePipelineArgs(['--preset', 'nano', '--seed', '4', '--stages', 'sft,rm,grpo', '--kl-coef', '0.1', '--set', 'grpo.beta=0']);
  if (opts === 'help') throw new Error('help');
  const command = pipelineCommand(opts);
  expect(command).toBe('npm run pipeline -- --task sentiment --preset nano --seed 4 --stages sft,rm,grpo --set ppo.klCoef=0.1 --set grpo.beta=0');
  expect(parsePipelineArgs(command.split(' ').slice(4))).toEqual(opts);
});
