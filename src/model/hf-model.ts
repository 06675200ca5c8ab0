// A Hugging Face GPT-2-family model folder as the lab's base model: `config.json` (GPT2Config), `model.safetensors`
// (GPT2LMHeadModel's or GPT2Model's tensors, F32, F16 or BF16; checkpoint.ts reads GPT-2's names and widens the
// halves exactly) and GPT-2's tokenizer (gpt2-tokenizer.ts: `tokenizer.json`, or `vocab.json` + `merges.txt`).
//
// Config mapping: n_layer → nLayer, n_head → nHead, n_embd → dModel, n_positions → contextLength, vocab_size →
// vocabSize, dropout 0 (the pipeline trains its base model without it). What the lab's kernels do not compute is
// refused, naming the field: an activation other than GPT-2's tanh GELU (gelu_new; gelu_pytorch_tanh is the same
// function), a layer_norm_epsilon other than the kernels' fixed 1e-5, an MLP width n_inner other than 4·n_embd,
// attention without the 1/√d scale or with the per-layer one, cross-attention, an untied LM head, a head size over
// the attention kernel's maximum.
//
// Everything is checked before anything is returned — the files, the config, whether the model fits the device
// (before a byte of the weights is decoded), the tensors' dtypes and shapes against the config, the tokenizer's size
// against the embedding's rows — so a caller that swaps its model only after this returns loses nothing on a bad
// folder. Each problem is its own error class, and every message starts with the file it is about.
import type { MemoryBudget } from '../gpu';
import { mebibytes } from '../gpu/errors';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from './checkpoint';
import { arenaBytes, type GPTConfig, parameterShapes, validateConfig } from './config';
import { Gpt2Tokenizer } from './gpt2-tokenizer';
import { decodeSafetensors, SafetensorsError } from './safetensors';

/** Metadata key of a base checkpoint made from a Hugging Face folder: the folder's name. */
export const HF_SOURCE_KEY = 'rlhf_lab.hugging_face';

/** A problem with a model folder; `file` is the file it is about (the message starts with it). */
export class HfModelError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = new.target.name;
  }
}
/** A file the folder must have is not there. */
export class MissingFileError extends HfModelError {}
/** A JSON file that does not parse. */
export class MalformedJsonError extends HfModelError {}
/** config.json describes a model the lab cannot run (model_type, architectures, activation, epsilon, …). */
export class UnsupportedArchitectureError extends HfModelError {}
/** A tensor whose shape (or the file's layer count) disagrees with config.json. */
export class ShapeMismatchError extends HfModelError {}
/** A tensor of a dtype other than F32, F16 or BF16. */
export class UnsupportedDtypeError extends HfModelError {}
/** The tokenizer's vocabulary size is not the embedding's row count. */
export class VocabularyMismatchError extends HfModelError {}
/** The model needs more memory (in one buffer, or in all) than the device allows. */
export class ModelTooLargeError extends HfModelError {
  constructor(
    file: string,
    message: string,
    readonly neededBytes: number,
    readonly allowedBytes: number,
  ) {
    super(file, message);
  }
}

/** The files of a folder this module reads; a caller need not read any other. */
export const HF_MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'vocab.json', 'merges.txt'] as const;

/** A file of the folder: its name (without the folder) and contents. */
export interface HfFile {
  name: string;
  bytes: Uint8Array;
}

/** The model a folder holds, ready to be the base model. */
export interface HfModel {
  config: GPTConfig;
  /** By the lab's parameter names (checkpoint.ts), float32. */
  weights: Record<string, Float32Array<ArrayBuffer>>;
  tokenizer: Gpt2Tokenizer;
}

const CONFIG = 'config.json';
const WEIGHTS = 'model.safetensors';
const SUPPORTED_ARCHITECTURES = ['GPT2LMHeadModel', 'GPT2Model'];
const TANH_GELU = ['gelu_new', 'gelu_pytorch_tanh'];
const LAB_LAYERNORM_EPS = 1e-5;

/**
 * Reads and checks a model folder's files. With `budget` (the device's, src/gpu/runtime.ts memoryBudget), a model
 * whose parameters cannot be held is refused with a ModelTooLargeError as soon as config.json is read.
 */
export function readHfModel(files: readonly HfFile[], budget?: MemoryBudget): HfModel {
  const byName = new Map<string, Uint8Array>();
  for (const f of files) {
    if (byName.has(f.name)) throw new HfModelError(f.name, 'the folder has two files of this name');
    byName.set(f.name, f.bytes);
  }
  const need = (name: string, hint = '') => {
    const bytes = byName.get(name);
    if (!bytes) throw new MissingFileError(name, `missing: a GPT-2 folder needs ${CONFIG}, ${WEIGHTS} and tokenizer.json (or vocab.json + merges.txt)${hint}; got ${[...byName.keys()].sort().join(', ') || 'no files'}`);
    return bytes;
  };
  const config = readHfConfig(new TextDecoder().decode(need(CONFIG)));
  if (budget) checkModelFits(config, budget);
  const tokenizer = byName.has('tokenizer.json')
    ? Gpt2Tokenizer.fromTokenizerJson(new TextDecoder().decode(need('tokenizer.json')))
    : Gpt2Tokenizer.fromVocabAndMerges(new TextDecoder().decode(need('vocab.json', ' — no tokenizer.json either')), new TextDecoder().decode(need('merges.txt')));
  const weights = readWeights(need(WEIGHTS, ` — the weights as one file, as transformers' save_pretrained(DIR, safe_serialization=True) writes them`), config);
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new VocabularyMismatchError(
      byName.has('tokenizer.json') ? 'tokenizer.json' : 'vocab.json',
      `the tokenizer has ${tokenizer.vocabSize} tokens but the model's embedding (wte) has ${config.vocabSize} rows: every token needs its own row, and every row a token`,
    );
  }
  return { config, weights, tokenizer };
}

/** The model as a lab checkpoint (GPT-2 names, float32, its tokenizer and the folder's name in the metadata). */
export function hfBaseCheckpoint(model: HfModel, folder: string): Uint8Array {
  return saveCheckpoint(model.weights, model.config, model.tokenizer.toJSON(), { [HF_SOURCE_KEY]: folder });
}

/** config.json → the lab's GPTConfig; refuses what the lab's kernels do not compute. */
export function readHfConfig(text: string): GPTConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new MalformedJsonError(CONFIG, `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new MalformedJsonError(CONFIG, 'expected a JSON object');
  const c = json as Record<string, unknown>;
  const refuse = (field: string, why: string) => new UnsupportedArchitectureError(CONFIG, `"${field}" is ${JSON.stringify(c[field])}: ${why}`);
  if (c.model_type !== 'gpt2') throw refuse('model_type', 'only GPT-2-family models ("gpt2") can be the base model');
  const architectures = c.architectures ?? ['GPT2LMHeadModel'];
  if (!Array.isArray(architectures) || !architectures.every((a) => SUPPORTED_ARCHITECTURES.includes(a))) {
    throw refuse('architectures', `the base model must be a language model, ${SUPPORTED_ARCHITECTURES.join(' or ')}`);
  }
  if (!TANH_GELU.includes((c.activation_function ?? 'gelu_new') as string)) throw refuse('activation_function', `the lab's kernels compute GPT-2's tanh GELU (${TANH_GELU.join(' = ')}) only`);
  if ((c.layer_norm_epsilon ?? LAB_LAYERNORM_EPS) !== LAB_LAYERNORM_EPS) throw refuse('layer_norm_epsilon', `the lab's LayerNorm kernels use ${LAB_LAYERNORM_EPS}`);
  const flags: [string, unknown, string][] = [
    ['scale_attn_weights', true, 'the lab scales attention scores by 1/√(head size), as GPT-2 does'],
    ['scale_attn_by_inverse_layer_idx', false, 'the lab does not scale attention by layer'],
    ['add_cross_attention', false, 'the lab runs decoder-only models'],
    ['tie_word_embeddings', true, 'the lab ties the LM head to the token embedding (wte), as GPT-2 does'],
  ];
  for (const [field, want, why] of flags) if ((c[field] ?? want) !== want) throw refuse(field, why);
  const size = (field: string) => {
    const v = c[field];
    if (!Number.isInteger(v) || (v as number) < 1) throw new UnsupportedArchitectureError(CONFIG, `"${field}" must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const config: GPTConfig = Object.freeze({
    vocabSize: size('vocab_size'),
    contextLength: size('n_positions'),
    nLayer: size('n_layer'),
    nHead: size('n_head'),
    dModel: size('n_embd'),
    dropout: 0,
  });
  if (c.n_inner !== undefined && c.n_inner !== null && c.n_inner !== 4 * config.dModel) throw refuse('n_inner', `the lab's MLP is 4·n_embd = ${4 * config.dModel} wide`);
  try {
    validateConfig(config);
  } catch (e) {
    throw new UnsupportedArchitectureError(CONFIG, `n_embd ${config.dModel}, n_head ${config.nHead}: ${(e as Error).message}`);
  }
  return config;
}

/**
 * Refuses a model this device cannot hold, before anything is allocated: its parameters as one buffer (the arena
 * AdamW and the gradient norm bind whole), one full-length sequence's logits in one buffer, and the parameters with
 * their gradients (every GPT the lab makes has both) within the device's memory.
 */
export function checkModelFits(config: GPTConfig, budget: MemoryBudget): void {
  const oneBuffer = Math.min(budget.maxBufferSize, budget.maxStorageBufferBindingSize);
  const limitName = budget.maxStorageBufferBindingSize <= budget.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
  const arena = arenaBytes(config);
  const logits = config.contextLength * config.vocabSize * 4;
  const tooLarge = (what: string, needed: number, allowed: number, limit: string) =>
    new ModelTooLargeError(CONFIG, `the model is too large for this GPU: ${what} needs ${mebibytes(needed)}, this GPU allows ${mebibytes(allowed)} (${limit})`, needed, allowed);
  if (arena > oneBuffer) throw tooLarge('its parameters as one buffer', arena, oneBuffer, limitName);
  if (logits > oneBuffer) throw tooLarge(`the logits of one ${config.contextLength}-token sequence (n_positions × vocab_size)`, logits, oneBuffer, limitName);
  if (2 * arena > budget.totalBytes) throw tooLarge('its parameters and their gradients', 2 * arena, budget.totalBytes, budget.totalSource);
}

/** model.safetensors' weights, its tensors checked against `config` first (dtype, shape, layer count). */
function readWeights(bytes: Uint8Array, config: GPTConfig): Record<string, Float32Array<ArrayBuffer>> {
  try {
    const { tensors } = decodeSafetensors(bytes);
    // Our parameter name of a file tensor: GPT2LMHeadModel's carry `transformer.`, GPT2Model's do not.
    const ours = (name: string) => name.replace(/^transformer\./, '').replace(/^(wte|wpe)\.weight$/, '$1');
    const shapes = new Map(parameterShapes(config).map((p) => [p.name, p.shape]));
    shapes.set('lm_head.weight', [config.vocabSize, config.dModel]);
    const layers = new Set(tensors.flatMap((t) => /^h\.(\d+)\./.exec(ours(t.name))?.[1] ?? []));
    if (layers.size !== config.nLayer) throw new ShapeMismatchError(WEIGHTS, `the file has ${layers.size} layers (h.0 …), ${CONFIG} says n_layer ${config.nLayer}`);
    // In the parameters' order (wte first), so the message names the first disagreement a reader would look for;
    // a missing tensor, or one that is no parameter, is the loader's to report.
    const byName = new Map(tensors.map((t) => [ours(t.name), t]));
    for (const [name, shape] of shapes) {
      const t = byName.get(name);
      if (!t) continue;
      if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') throw new UnsupportedDtypeError(WEIGHTS, `tensor ${t.name} is ${t.dtype}; the lab reads F32, F16 and BF16`);
      if (t.shape.join() !== shape.join()) throw new ShapeMismatchError(WEIGHTS, `tensor ${t.name} has shape [${t.shape.join(', ')}], ${CONFIG} needs [${shape.join(', ')}]`);
    }
    const checkpoint = loadCheckpoint(bytes, config);
    if (checkpoint.head) throw new UnsupportedArchitectureError(WEIGHTS, `the file holds a ${checkpoint.head} head: the base model must be a language model (${SUPPORTED_ARCHITECTURES.join(' or ')})`);
    return checkpoint.weights;
  } catch (e) {
    if (e instanceof SafetensorsError || e instanceof CheckpointError) throw new HfModelError(WEIGHTS, e.message);
    throw e;
  }
}
