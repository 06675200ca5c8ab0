// `npm run pipeline -- --base DIR`: a Hugging Face GPT-2 folder on disk (the small random one the tests write) is the
// base model of the run — pretraining is skipped and SFT's checkpoint has the folder's architecture and GPT-2's
// tokenizer — and a bad folder fails the run with the error naming the file and the field.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { main, parsePipelineArgs } from '../../src/cli/pipeline';
import { loadCheckpoint } from '../../src/model/checkpoint';
import { HF_SOURCE_KEY } from '../../src/model/hf-model';
import { hfGpt2Folder, type HfFolderOptions } from '../helpers/hf-folder';

const root = mkdtempSync(join(tmpdir(), 'rlhf-lab-base-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The folder written to disk under `name`. */
function folder(name: string, options: HfFolderOptions = {}): string {
  const dir = join(root, name);
  mkdirSync(dir);
  for (const f of hfGpt2Folder(options).files) writeFileSync(join(dir, f.name), f.bytes);
  return dir;
}

describe('npm run pipeline -- --base DIR', () => {
  test('--base is parsed', () => {
    expect(parsePipelineArgs(['--base', 'models/gpt2'])).toMatchObject({ base: 'models/gpt2' });
  });

  test('the folder is the base model: no pretraining, SFT fine-tunes it', { timeout: 120_000 }, async () => {
    const base = folder('my-gpt2', { dtype: 'F16', tokenizer: 'vocab.json + merges.txt' });
    const out = join(root, 'out');
    const log: string[] = [];
    const code = await main(['--base', base, '--preset', 'nano', '--seed', '2', '--stages', 'pretrain,sft', '--sft-steps', '2', '--set', 'sft.seq=16', '--set', 'sft.batchSize=2', '--out', out], (l) => log.push(l), (l) => log.push(l));
    expect(code, log.join('\n')).toBe(0);
    expect(log).toContain('== pretrain skipped');
    expect(existsSync(join(out, 'checkpoints', 'base.safetensors'))).toBe(false);
    const sft = loadCheckpoint(readFileSync(join(out, 'checkpoints', 'sft.safetensors')));
    expect(sft.config).toEqual({ vocabSize: 259, contextLength: 16, nLayer: 2, nHead: 2, dModel: 16, dropout: 0 });
    expect((sft.tokenizerJson as { kind: string }).kind).toBe('gpt2');
    expect(sft.metadata[HF_SOURCE_KEY]).toBeUndefined(); // the pipeline's checkpoints record their run, not the folder
  });

  test('a bad folder fails the run, naming the file and the field', async () => {
    const base = folder('gelu', { config: { activation_function: 'gelu' } });
    const errors: string[] = [];
    const code = await main(['--base', base, '--preset', 'nano', '--stages', 'sft', '--out', join(root, 'bad')], () => {}, (l) => errors.push(l));
    expect(code).toBe(1);
    expect(errors).toEqual([`pipeline failed: config.json: "activation_function" is "gelu": the lab's kernels compute GPT-2's tanh GELU (gelu_new = gelu_pytorch_tanh) only`]);
  });
});
