// `load-base` through the engine in Node (Dawn on SwiftShader): a bad Hugging Face folder is refused with a 'model'
// error naming the file and the field, and the bundled base model stays (no model event, generation unchanged); a
// good folder becomes the base model — reported with its architecture, GPT-2's tokenizer and the folder's name, the
// configuration posted again with nothing kept — and the pipeline's next run fine-tunes it: pretraining is skipped
// and the SFT checkpoint has the folder's architecture and tokenizer.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { createNodeRuntime } from '../../src/gpu/node';
import { loadCheckpoint } from '../../src/model/checkpoint';
import { HF_SOURCE_KEY } from '../../src/model/hf-model';
import { createEngine, type Engine } from '../../src/worker/engine';
import type { Command } from '../../src/worker/protocol';
import { hfGpt2Folder } from '../helpers/hf-folder';
import { recorder } from './fakes';

const GENERATE: Command = { type: 'generate', prompt: 'Once upon a time', maxNewTokens: 3, temperature: 0, seed: 1 };

describe('load-base: a Hugging Face folder as the base model', () => {
  let rt: GpuRuntime;
  const rec = recorder();
  let engine: Engine;
  const send = (command: Command) => engine.handle(command);

  beforeAll(async () => {
    rt = await createNodeRuntime();
    engine = createEngine(rec.post, { runtime: async () => rt, asset: async (path) => new Uint8Array(await readFile(join('public', path))) });
    await send({ type: 'init' });
    await send({ type: 'configure', task: 'sentiment', preset: 'nano', overrides: { seed: 3, 'sft.steps': 2, 'sft.batchSize': 2 } });
    expect(rec.errors()).toEqual([]);
  });

  afterAll(() => rt?.destroy());

  test('a bad folder is refused naming the file and the field; the bundled base model stays', async () => {
    const from = rec.mark;
    await send(GENERATE);
    const before = rec.of('sample', from)[0].text;
    await send({ type: 'load-base', folder: 'eps', files: hfGpt2Folder({ config: { layer_norm_epsilon: 1e-6 } }).files });
    await send({ type: 'load-base', folder: 'half', files: hfGpt2Folder().files.filter((f) => f.name !== 'model.safetensors') });
    expect(rec.of('error', from).map((e) => `${e.kind}: ${e.message}`)).toEqual([
      `model: The Hugging Face model "eps" was not loaded (the bundled base model stays the base model): config.json: "layer_norm_epsilon" is 0.000001: the lab's LayerNorm kernels use 0.00001`,
      expect.stringMatching(/^model: The Hugging Face model "half" was not loaded \(the bundled base model stays the base model\): model\.safetensors: missing: /),
    ]);
    expect(rec.of('model', from)).toEqual([]);
    const at = rec.mark;
    await send(GENERATE);
    expect(rec.of('sample', at)[0].text).toBe(before);
  });

  test('a good folder becomes the base model; the next run fine-tunes it without pretraining', { timeout: 120_000 }, async () => {
    const from = rec.mark;
    await send({ type: 'load-base', folder: 'my-gpt2', files: hfGpt2Folder({ dtype: 'BF16' }).files });
    expect(rec.errors(from)).toEqual([]);
    const [{ info }] = rec.of('model', from);
    expect(info.config).toEqual({ vocabSize: 259, contextLength: 16, nLayer: 2, nHead: 2, dModel: 16, dropout: 0 });
    expect([info.tokenizer, info.metadata[HF_SOURCE_KEY]]).toEqual(['gpt2', 'my-gpt2']);
    expect(rec.of('pipeline-config', from).map((e) => e.kept)).toEqual([[]]);
    await send({ ...GENERATE, prompt: ' the' }); // [BOS, " t", "he"]: room for 3 tokens in the 16-token context
    expect(rec.of('sample', from)[0].tokens).toBe(3);

    // nano's SFT rows are 32 tokens, over this model's context: refused before anything runs, naming the setting.
    const refused = rec.mark;
    await send({ type: 'start', stages: ['sft'] });
    expect(rec.errors(refused)).toEqual([expect.stringMatching(/^pipeline: invalid pipeline configuration: sft\.seq: must be an integer in \[4, 16\]/)]);
    await send({ type: 'configure', task: 'sentiment', preset: 'nano', overrides: { 'sft.seq': 24 } });
    expect(rec.errors(refused).slice(1)).toEqual([expect.stringMatching(/^config: .*sft\.seq: must be an integer in \[4, 16\]/)]);
    await send({ type: 'configure', task: 'sentiment', preset: 'nano', overrides: { seed: 3, 'sft.steps': 2, 'sft.batchSize': 2, 'sft.seq': 16 } });
    const run = rec.mark;
    await send({ type: 'start', stages: ['pretrain', 'sft'] });
    expect(rec.errors(run)).toEqual([]);
    expect(rec.of('stage', run).map((e) => `${e.stage} ${e.state}`)).toEqual(['pretrain skipped', 'sft started', 'sft done']);
    const { bytes } = await exported('sft');
    const sft = loadCheckpoint(bytes);
    expect(sft.config).toEqual(info.config);
    expect((sft.tokenizerJson as { kind: string }).kind).toBe('gpt2');
  });

  /** The checkpoint-data bytes of `name`. */
  async function exported(name: string) {
    const from = rec.mark;
    await send({ type: 'checkpoint-data', name });
    return rec.of('checkpoint-data', from)[0];
  }
});
