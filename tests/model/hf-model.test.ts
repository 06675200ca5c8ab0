// A Hugging Face GPT-2 folder as the base model (src/model/hf-model.ts): a small random folder the test writes loads
// from F32, F16 and BF16 tensors, with or without GPT2LMHeadModel's `transformer.` prefix, with either tokenizer form,
// to the same weights, and the lab's GPU model on them computes the float64 reference GPT's logits; GPT-2's real
// vocabulary and merges load through the folder and encode as gpt-3-encoder does; and every kind of bad folder is
// refused with its own error class and a message naming the file and the field.
import { encode as referenceEncode } from 'gpt-3-encoder';
import { describe, expect, test } from 'vitest';
import { memoryBudget } from '../../src/gpu';
import { loadCheckpoint } from '../../src/model/checkpoint';
import { GPT } from '../../src/model/gpt';
import { Gpt2TokenizerError } from '../../src/model/gpt2-tokenizer';
import {
  hfBaseCheckpoint,
  HF_SOURCE_KEY,
  type HfFile,
  HfModelError,
  MalformedJsonError,
  MissingFileError,
  ModelTooLargeError,
  readHfModel,
  ShapeMismatchError,
  UnsupportedArchitectureError,
  UnsupportedDtypeError,
  VocabularyMismatchError,
} from '../../src/model/hf-model';
import { decodeSafetensors, encodeSafetensors } from '../../src/model/safetensors';
import { tokenizerFromJSON } from '../../src/model/tokenizer';
import { gptForward } from '../../src/reference/gpt';
import { GPT2_MERGES_TXT, GPT2_VOCAB_JSON, tokenizerJsonText } from '../helpers/gpt2-files';
import { gpuTest } from '../helpers/gpu';
import { type HfDtype, hfGpt2Folder, hfSafetensors, SMALL_MERGES, SMALL_SHAPE, SMALL_VOCAB } from '../helpers/hf-folder';
import { randomGptWeights } from '../helpers/gpt-fixtures';
import { integers } from '../helpers/random';
import { expectClose } from '../helpers/tolerance';

const DTYPES: HfDtype[] = ['F32', 'F16', 'BF16'];
const roomy = memoryBudget({ maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 }, 16 * 2 ** 30);
const text = (name: string, s: string): HfFile => ({ name, bytes: new TextEncoder().encode(s) });
const replace = (files: HfFile[], ...by: HfFile[]) => [...files.filter((f) => !by.some((b) => b.name === f.name)), ...by];
const without = (files: HfFile[], ...names: string[]) => files.filter((f) => !names.includes(f.name));

describe('readHfModel: a small random GPT-2 folder', () => {
  test.each(DTYPES.flatMap((dtype) => [
    [dtype, true, 'tokenizer.json'],
    [dtype, false, 'vocab.json + merges.txt'],
  ] as const))('%s tensors (transformer. prefix: %s), %s: the config mapped, the weights exact', (dtype, prefixed, tokenizer) => {
    const folder = hfGpt2Folder({ dtype, prefixed, tokenizer });
    const model = readHfModel(folder.files, roomy);
    expect(model.config).toEqual({ vocabSize: 259, contextLength: 16, nLayer: 2, nHead: 2, dModel: 16, dropout: 0 });
    expect(Object.keys(model.weights)).toEqual(Object.keys(folder.weights));
    for (const [name, w] of Object.entries(folder.weights)) expect(model.weights[name], name).toEqual(w);
    expect(model.tokenizer.vocabSize).toBe(259);
    expect(model.tokenizer.special).toEqual({ bos: 258, eos: 258, pad: 258, sep: 258 });
    expect(Array.from(model.tokenizer.encode(' the'))).toEqual([256, 257]);
  });

  gpuTest('the GPU model on the weights read from each dtype computes the float64 reference GPT’s logits', async ({ rt }) => {
    const [B, T] = [2, 11];
    const tokens = integers(B * T, 259, 3);
    for (const dtype of DTYPES) {
      const { config, weights } = readHfModel(hfGpt2Folder({ dtype }).files, rt.memory);
      const model = GPT.create(rt, config, { weights }).eval();
      try {
        // Logits of 2 blocks of f32 matmuls with K ≤ 64 agree with float64 to ~1e-6; a wrong layout is off by O(1).
        expectClose(await model.forward(tokens, B, T), gptForward(config, weights, tokens, B, T), { atol: 5e-5, rtol: 1e-5 }, `${dtype} logits`);
      } finally {
        model.dispose();
      }
    }
  });

  test('as a lab checkpoint: the same weights, its tokenizer and the folder’s name in the metadata', () => {
    const model = readHfModel(hfGpt2Folder().files);
    const checkpoint = loadCheckpoint(hfBaseCheckpoint(model, 'my-gpt2'));
    expect(checkpoint.config).toEqual(model.config);
    expect(checkpoint.weights).toEqual(model.weights);
    expect(checkpoint.metadata[HF_SOURCE_KEY]).toBe('my-gpt2');
    expect(tokenizerFromJSON(checkpoint.tokenizerJson).toJSON()).toEqual(model.tokenizer.toJSON());
  });

  test('GPT-2’s real 50,257-token vocabulary and merges load with the model and encode as gpt-3-encoder does', () => {
    const shape = { vocabSize: 50257, contextLength: 8, nLayer: 1, nHead: 1, dModel: 8 };
    const files = [
      text('config.json', JSON.stringify({ model_type: 'gpt2', vocab_size: 50257, n_positions: 8, n_layer: 1, n_head: 1, n_embd: 8 })),
      hfSafetensors(shape, randomGptWeights(shape, 2, 0.02)),
      text('vocab.json', GPT2_VOCAB_JSON),
      text('merges.txt', GPT2_MERGES_TXT),
    ];
    const model = readHfModel(files, roomy);
    expect(model.config.vocabSize).toBe(50257);
    const sample = 'Once upon a time, a 🦊 said: "I\'ll be back" — and  it   was.\n';
    expect(Array.from(model.tokenizer.encode(sample))).toEqual(referenceEncode(sample));
  });
});

describe('readHfModel refuses a bad folder with a named error', () => {
  const { files } = hfGpt2Folder();
  const config = (fields: Record<string, unknown>) => hfGpt2Folder({ config: fields }).files;

  test.each([
    ['another model type', config({ model_type: 'llama' }), UnsupportedArchitectureError, /^config\.json: "model_type" is "llama": only GPT-2-family models \("gpt2"\) can be the base model/],
    ['a reward model', config({ architectures: ['GPT2ForSequenceClassification'] }), UnsupportedArchitectureError, /"architectures" is \["GPT2ForSequenceClassification"\]: the base model must be a language model, GPT2LMHeadModel or GPT2Model/],
    ['the exact GELU', config({ activation_function: 'gelu' }), UnsupportedArchitectureError, /"activation_function" is "gelu": the lab's kernels compute GPT-2's tanh GELU \(gelu_new = gelu_pytorch_tanh\) only/],
    ['another LayerNorm epsilon', config({ layer_norm_epsilon: 1e-6 }), UnsupportedArchitectureError, /"layer_norm_epsilon" is 0\.000001: the lab's LayerNorm kernels use 0\.00001/],
    ['another MLP width', config({ n_inner: 48 }), UnsupportedArchitectureError, /"n_inner" is 48: the lab's MLP is 4·n_embd = 64 wide/],
    ['an untied head', config({ tie_word_embeddings: false }), UnsupportedArchitectureError, /"tie_word_embeddings" is false/],
    ['no n_head', config({ n_head: undefined }), UnsupportedArchitectureError, /"n_head" must be a positive integer, got undefined/],
    ['vocab_size 0', config({ vocab_size: 0 }), UnsupportedArchitectureError, /^config\.json: "vocab_size" must be a positive integer, got 0/],
    ['n_positions 0', config({ n_positions: 0 }), UnsupportedArchitectureError, /^config\.json: "n_positions" must be a positive integer, got 0/],
    ['n_layer 0', config({ n_layer: 0 }), UnsupportedArchitectureError, /^config\.json: "n_layer" must be a positive integer, got 0/],
    ['n_head 0', config({ n_head: 0 }), UnsupportedArchitectureError, /^config\.json: "n_head" must be a positive integer, got 0/],
    ['n_embd 0', config({ n_embd: 0 }), UnsupportedArchitectureError, /^config\.json: "n_embd" must be a positive integer, got 0/],
    ['a head size over the kernel’s', config({ n_head: 1, n_embd: 256 }), UnsupportedArchitectureError, /n_embd 256, n_head 1: .*exceeds the attention kernel's maximum/],
    ['two files of one name', [...files, text('config.json', '{}')], HfModelError, /^config\.json: the folder has two files of this name/],
    ['no weights', without(files, 'model.safetensors'), MissingFileError, /^model\.safetensors: missing: a GPT-2 folder needs config\.json, model\.safetensors and tokenizer\.json .* — the weights as one file, as transformers' save_pretrained\(DIR, safe_serialization=True\) writes them; got config\.json, tokenizer\.json/],
    ['no config', without(files, 'config.json'), MissingFileError, /^config\.json: missing/],
    ['no tokenizer', without(files, 'tokenizer.json'), MissingFileError, /^vocab\.json: missing: .* — no tokenizer\.json either/],
    ['merges.txt without vocab.json', replace(without(files, 'tokenizer.json'), text('vocab.json', JSON.stringify(SMALL_VOCAB))), MissingFileError, /^merges\.txt: missing/],
    ['malformed config.json', replace(files, text('config.json', '{"model_type": "gpt2",')), MalformedJsonError, /^config\.json: not valid JSON: /],
    ['a narrower model than config.json says', config({ n_embd: 32 }), ShapeMismatchError, /^model\.safetensors: tensor transformer\.wte\.weight has shape \[259, 16\], config\.json needs \[259, 32\]/],
    ['fewer layers than config.json says', config({ n_layer: 3 }), ShapeMismatchError, /^model\.safetensors: the file has 2 layers \(h\.0 …\), config\.json says n_layer 3/],
    ['a longer context than the file has', config({ n_positions: 32 }), ShapeMismatchError, /tensor transformer\.wpe\.weight has shape \[16, 16\], config\.json needs \[32, 16\]/],
    ['a larger vocabulary than the tokenizer', config({ vocab_size: 300 }), ShapeMismatchError, /tensor transformer\.wte\.weight has shape \[259, 16\], config\.json needs \[300, 16\]/],
    ['a tokenizer with more tokens than embedding rows', replace(files, text('tokenizer.json', tokenizerJsonText({ ...SMALL_VOCAB, '<|endoftext|>': 259, 'Ġthe': 258 }, [...SMALL_MERGES, ['Ġt', 'he']]))), VocabularyMismatchError, /^tokenizer\.json: the tokenizer has 260 tokens but the model's embedding \(wte\) has 259 rows/],
    ['a tokenizer with fewer tokens than embedding rows', replace(config({ vocab_size: 260 }), hfSafetensors({ ...SMALL_SHAPE, vocabSize: 260 }, randomGptWeights({ ...SMALL_SHAPE, vocabSize: 260 }, 2, 0.02))), VocabularyMismatchError, /^tokenizer\.json: the tokenizer has 259 tokens but the model's embedding \(wte\) has 260 rows/],
    ['a reward model’s weights (score head)', replace(files, { name: 'model.safetensors', bytes: encodeSafetensors([...decodeSafetensors(files.find((f) => f.name === 'model.safetensors')!.bytes).tensors, { name: 'score.weight', dtype: 'F32', shape: [1, 16], data: new Float32Array(16) }, { name: 'score.bias', dtype: 'F32', shape: [1], data: new Float32Array(1) }], { format: 'pt' }) }), UnsupportedArchitectureError, /^model\.safetensors: the file holds a score head: the base model must be a language model \(GPT2LMHeadModel or GPT2Model\)/],
    ['F64 tensors', replace(files, { name: 'model.safetensors', bytes: encodeSafetensors([{ name: 'transformer.ln_f.bias', dtype: 'F64', shape: [16], data: new Float64Array(16) }, { name: 'transformer.h.0.ln_1.bias', dtype: 'F32', shape: [16], data: new Float32Array(16) }, { name: 'transformer.h.1.ln_1.bias', dtype: 'F32', shape: [16], data: new Float32Array(16) }]) }), UnsupportedDtypeError, /^model\.safetensors: tensor transformer\.ln_f\.bias is F64; the lab reads F32, F16 and BF16/],
    ['a truncated safetensors file', replace(files, { name: 'model.safetensors', bytes: hfSafetensors(SMALL_SHAPE, hfGpt2Folder().weights).bytes.subarray(0, 1000) }), HfModelError, /^model\.safetensors: safetensors: /],
    ['a malformed tokenizer.json', replace(files, text('tokenizer.json', '[1, 2')), Gpt2TokenizerError, /^tokenizer\.json: not valid JSON/],
  ])('%s', (_, folder, kind, message) => {
    const read = () => readHfModel(folder, roomy);
    expect(read).toThrow(kind);
    expect(read).toThrow(message);
  });

  test('a model too large for the device: bytes needed vs allowed, before the weights are read', () => {
    // 8 MiB buffers: the 50,257 × 1,024 logits of one full GPT-2 sequence (196 MiB) do not fit.
    const small = memoryBudget({ maxBufferSize: 8 * 2 ** 20, maxStorageBufferBindingSize: 8 * 2 ** 20 }, 16 * 2 ** 30);
    const gpt2 = [text('config.json', JSON.stringify({ model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_layer: 12, n_head: 12, n_embd: 768 }))];
    const read = () => readHfModel(gpt2, small); // no weights at all: refused before they are looked for
    expect(read).toThrow(ModelTooLargeError);
    expect(read).toThrow(/^config\.json: the model is too large for this GPU: its parameters as one buffer needs 475 MiB, this GPU allows 8\.0 MiB \(maxStorageBufferBindingSize\)/);
    const logits = memoryBudget({ maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 }, 16 * 2 ** 30);
    expect(() => readHfModel(replace(gpt2, text('config.json', JSON.stringify({ model_type: 'gpt2', vocab_size: 50257, n_positions: 8192, n_layer: 1, n_head: 1, n_embd: 8 }))), logits)).toThrow(
      /the logits of one 8192-token sequence \(n_positions × vocab_size\) needs 1571 MiB, this GPU allows 1024 MiB/,
    );
    const tinyHost = memoryBudget({ maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 }, 2 ** 30);
    try {
      readHfModel(gpt2, tinyHost);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ModelTooLargeError);
      expect((e as ModelTooLargeError).message).toMatch(/its parameters and their gradients needs 949 MiB, this GPU allows 512 MiB \(half of this machine's 1\.0 GiB\)/);
      expect([(e as ModelTooLargeError).neededBytes > (e as ModelTooLargeError).allowedBytes, (e as ModelTooLargeError).allowedBytes]).toEqual([true, 2 ** 29]);
    }
  });
});
