// Checkpoints: the GPT's weights as a safetensors file with Hugging Face GPT-2 tensor names and layouts, so the
// ecosystem's tools (safetensors, transformers' GPT2LMHeadModel) can read our models.
//
// Tensor names are GPT2LMHeadModel's state-dict keys: `transformer.` + our parameter names (transformer.wte.weight,
// transformer.h.{i}.attn.c_attn.weight, …; our wte/wpe are stored as wte.weight/wpe.weight). Layouts are already
// GPT-2's: linear weights [in, out] as its Conv1D, c_attn columns [q | k | v]. All tensors are F32, row-major.
// The LM head is tied to transformer.wte.weight, so no lm_head.weight is stored — exactly what transformers'
// save_pretrained writes for GPT-2 (shared tensors are saved once; the tied head is rebuilt on load).
//
// A scalar head (a reward or value model, config.ts HeadName) is stored under the names the ecosystem uses for
// it, as a [1, C] linear weight (nn.Linear's [out, in]; the same values as our (C,1)) and a [1] bias: the reward
// model's `score` as transformers' GPT2ForSequenceClassification (`score.weight`; its bias is ours), the value
// model's as TRL's value head (`v_head.summary.weight`, `v_head.summary.bias`). The file's tensors say which.
//
// Header metadata ("__metadata__", strings only):
//   format               "pt" (what transformers writes and checks for when loading)
//   rlhf_lab.version     checkpoint format version (CHECKPOINT_VERSION)
//   rlhf_lab.config      JSON of the GPTConfig
//   rlhf_lab.tokenizer   JSON of the tokenizer (absent when none was given)
//   plus any `extra` entries the caller adds (they cannot replace the keys above).
//
// Several models of one architecture in one file (a reward-model ensemble): each weight name carries a `member<i>/`
// prefix (member0/wte, member0/score.weight, …, members numbered 0…M−1), each tensor is stored under that prefix and
// its member's GPT-2 name (member0/transformer.wte.weight), every member is a whole model with the same head, and
// the metadata adds "rlhf_lab.members" (M). Loading returns the prefixed names and `members`.
//
// Loading validates everything before returning anything, so a caller that applies the weights only after
// loadCheckpoint returns leaves its model untouched by a bad file; every weight must be finite (a NaN or an infinity
// would only surface later, as a training run that fails). It also reads GPT-2 files written by
// transformers: names with or without the `transformer.` prefix (GPT2LMHeadModel vs GPT2Model/original GPT-2
// files), the attention-mask buffers h.{i}.attn.bias and h.{i}.attn.masked_bias that older transformers versions
// saved (ignored: the causal mask is not a parameter), an lm_head.weight identical to wte (tied; an untied head is
// rejected), and F16/BF16 tensors (widened to float32 exactly). Such files carry no rlhf_lab.config, so the
// caller must pass the expected config.
import { HEAD_NAMES, parameterShapes, validateConfig, type GPTConfig, type HeadName } from './config';
import { decodeSafetensors, encodeSafetensors, SafetensorsError, tensorToFloat32, type DecodedTensor, type TensorInput } from './safetensors';

export const CHECKPOINT_VERSION = '1';
export const CHECKPOINT_PREFIX = 'transformer.';
/** Metadata key holding how a checkpoint was trained (JSON written by `npm run pretrain`). */
export const TRAINING_METADATA_KEY = 'rlhf_lab.training';
const META = { format: 'format', version: 'rlhf_lab.version', config: 'rlhf_lab.config', tokenizer: 'rlhf_lab.tokenizer', members: 'rlhf_lab.members' } as const;
/** `member<i>/<name>`: a weight (or a tensor) of member i of a file that holds several models. */
const MEMBER_NAME = /^member(\d+)\/(.+)$/;
const RESERVED = new Set<string>(Object.values(META));
const CONFIG_FIELDS = ['vocabSize', 'contextLength', 'nLayer', 'nHead', 'dModel', 'dropout'] as const;
/** The fields that decide the parameter shapes and the computation (dropout only matters while training). */
const ARCHITECTURE_FIELDS = ['vocabSize', 'contextLength', 'nLayer', 'nHead', 'dModel'] as const;

export class CheckpointError extends Error {
  constructor(message: string) {
    super(`checkpoint: ${message}`);
    this.name = 'CheckpointError';
  }
}

export interface Checkpoint {
  config: GPTConfig;
  /** By our parameter name (wte, wpe, h.0.ln_1.weight, …), in parameterShapes order; fresh copies. */
  weights: Record<string, Float32Array<ArrayBuffer>>;
  /** The scalar head the file holds (a reward or value model), if any; every member's, for several models. */
  head: HeadName | undefined;
  /** How many models the file holds when it holds several (weights named `member<i>/…`); undefined for one model. */
  members: number | undefined;
  /** The parsed rlhf_lab.tokenizer JSON, or undefined if the file has none. */
  tokenizerJson: unknown;
  /** The whole "__metadata__" map. */
  metadata: Record<string, string>;
}

const HEAD_TENSOR_PREFIX: Readonly<Record<HeadName, string>> = { score: 'score', value: 'v_head.summary' };

/**
 * Our parameter name → the checkpoint's tensor name (wte → transformer.wte.weight, h.0.… → transformer.h.0.…,
 * score.weight → score.weight, value.bias → v_head.summary.bias).
 */
export function checkpointTensorName(name: string): string {
  const [first, rest] = [name.slice(0, name.indexOf('.')), name.slice(name.indexOf('.') + 1)];
  if ((HEAD_NAMES as readonly string[]).includes(first)) return `${HEAD_TENSOR_PREFIX[first as HeadName]}.${rest}`;
  return CHECKPOINT_PREFIX + (name === 'wte' || name === 'wpe' ? `${name}.weight` : name);
}

/** Head weights are stored [1, C] (a linear layer's [out, in]); the same values as our (C,1). */
const fileShape = (name: string, shape: number[]) => (/^(score|value)\.weight$/.test(name) ? [1, shape[0]] : shape);

/** The head whose weight is among these names, if any. */
function headOf(names: Iterable<string>, tensorName: (head: HeadName) => string): HeadName | undefined {
  const all = new Set(names);
  const found = HEAD_NAMES.filter((h) => all.has(tensorName(h)));
  if (found.length > 1) throw new CheckpointError(`the model has both a ${found.join(' and a ')} head; a model has at most one scalar head`);
  return found[0];
}

const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;
const configText = (c: GPTConfig) => JSON.stringify(Object.fromEntries(CONFIG_FIELDS.map((k) => [k, c[k]])));

/**
 * The safetensors bytes of a model: `weights` by our parameter names (each exactly its parameterShapes size),
 * `config`, the tokenizer (any JSON value; omitted if undefined) and optional extra metadata strings.
 */
export function saveCheckpoint(
  weights: Record<string, Float32Array>,
  config: GPTConfig,
  tokenizerJson: unknown,
  extra: Record<string, string> = {},
): Uint8Array {
  validateConfig(config);
  const members = splitMembers(weights);
  const heads = new Set(members.map((m) => headOf(Object.keys(m), (h) => `${h}.weight`)));
  if (heads.size > 1) throw new CheckpointError(`the members have different heads (${[...heads].map((h) => h ?? 'LM').join(', ')}); they must all have the same`);
  const tensors: TensorInput[] = members.flatMap((member, i) => modelTensors(member, config, isMembers(weights) ? `member${i}/` : ''));
  for (const [key, value] of Object.entries(extra)) {
    if (RESERVED.has(key)) throw new CheckpointError(`extra metadata cannot replace "${key}"`);
    if (typeof value !== 'string') throw new CheckpointError(`extra metadata "${key}" must be a string`);
  }
  const metadata: Record<string, string> = {
    [META.format]: 'pt',
    [META.version]: CHECKPOINT_VERSION,
    [META.config]: configText(config),
  };
  if (tokenizerJson !== undefined) {
    const json = JSON.stringify(tokenizerJson);
    if (json === undefined) throw new CheckpointError('the tokenizer is not JSON-serialisable');
    metadata[META.tokenizer] = json;
  }
  if (isMembers(weights)) metadata[META.members] = String(members.length);
  return encodeSafetensors(tensors, { ...metadata, ...extra });
}

const isMembers = (weights: Record<string, unknown>) => Object.keys(weights).some((name) => MEMBER_NAME.test(name));

/** Several models' weights as one checkpoint's: member i's names prefixed `member<i>/`. */
export function joinMembers<W>(members: readonly Record<string, W>[]): Record<string, W> {
  return Object.fromEntries(members.flatMap((w, i) => Object.entries(w).map(([name, x]) => [`member${i}/${name}`, x])));
}

/** The models in `weights`: one, or each member's weights (unprefixed, in member order) when the names carry `member<i>/`. */
export function splitMembers<W>(weights: Record<string, W>): Record<string, W>[] {
  if (!isMembers(weights)) return [weights];
  const members: Record<string, W>[] = [];
  for (const [name, x] of Object.entries(weights)) {
    const m = MEMBER_NAME.exec(name);
    if (!m) throw new CheckpointError(`weight ${name} has no member<i>/ prefix, but others have: every weight of several models needs one`);
    const i = Number(m[1]);
    if (!Number.isSafeInteger(i) || i >= Object.keys(weights).length) throw new CheckpointError(`weight ${name}: member ${m[1]} of at most ${Object.keys(weights).length}`);
    (members[i] ??= {})[m[2]] = x;
  }
  for (let i = 0; i < members.length; i++) if (members[i] === undefined) throw new CheckpointError(`member ${i} is missing (members are numbered 0…${members.length - 1})`);
  return members;
}

/** One model's tensors, checked against `config`, under `prefix` (a member's, or none). */
function modelTensors(weights: Record<string, Float32Array>, config: GPTConfig, prefix: string): TensorInput[] {
  const shapes = parameterShapes(config, headOf(Object.keys(weights), (h) => `${h}.weight`));
  const expected = new Set(shapes.map((p) => p.name));
  const unknown = Object.keys(weights).filter((name) => !expected.has(name));
  if (unknown.length > 0) throw new CheckpointError(`unknown weights ${unknown.map((n) => prefix + n).join(', ')} (not parameters of this config)`);
  return shapes.map(({ name, shape }) => {
    const data = weights[name];
    if (data === undefined) throw new CheckpointError(`weight ${prefix}${name} is missing`);
    if (!(data instanceof Float32Array)) throw new CheckpointError(`weight ${prefix}${name} must be a Float32Array`);
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new CheckpointError(`weight ${prefix}${name} has ${data.length} values, shape ${shapeText(shape)} needs ${n}`);
    return { name: prefix + checkpointTensorName(name), dtype: 'F32', shape: fileShape(name, shape), data };
  });
}

/**
 * Parse and validate a checkpoint. With `expected`, the file's architecture (vocabSize, contextLength, nLayer,
 * nHead, dModel) must equal it; the returned config is the file's (its dropout included), or `expected` for a
 * file without rlhf_lab.config. Throws CheckpointError (or SafetensorsError for a malformed file) and returns
 * nothing partial.
 */
export function loadCheckpoint(bytes: Uint8Array, expected?: GPTConfig): Checkpoint {
  const file = decodeSafetensors(bytes);
  const { metadata } = file;

  const version = metadata[META.version];
  if (version !== undefined && version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(`unsupported checkpoint version ${JSON.stringify(version)} (this build reads version ${CHECKPOINT_VERSION})`);
  }
  const config = readConfig(metadata, expected);
  const tokenizerJson = readJson(metadata, META.tokenizer);

  if (!file.tensors.some((t) => MEMBER_NAME.test(t.name))) {
    const head = headOf(file.tensors.map((t) => t.name), (h) => checkpointTensorName(`${h}.weight`));
    const weights = readWeights(file.tensors, config, head);
    return { config, weights, head, members: undefined, tokenizerJson, metadata };
  }
  // Several models: each member's tensors read as one model, all with the same head.
  const byMember = splitMembers(Object.fromEntries(file.tensors.map((t) => [t.name, { ...t, name: t.name.slice(t.name.indexOf('/') + 1) }])));
  const heads = byMember.map((m) => headOf(Object.keys(m), (h) => checkpointTensorName(`${h}.weight`)));
  if (new Set(heads).size > 1) throw new CheckpointError(`the members have different heads (${heads.map((h) => h ?? 'LM').join(', ')}); they must all have the same`);
  const declared = metadata[META.members];
  if (declared !== undefined && declared !== String(byMember.length)) throw new CheckpointError(`metadata "${META.members}" says ${declared} members, the file holds ${byMember.length}`);
  const weights: Record<string, Float32Array<ArrayBuffer>> = {};
  byMember.forEach((m, i) => {
    try {
      for (const [name, w] of Object.entries(readWeights(Object.values(m), config, heads[0]))) weights[`member${i}/${name}`] = w;
    } catch (e) {
      throw e instanceof CheckpointError ? new CheckpointError(`member ${i}: ${e.message.replace(/^checkpoint: /, '')}`) : e;
    }
  });
  return { config, weights, head: heads[0], members: byMember.length, tokenizerJson, metadata };
}

function readJson(metadata: Record<string, string>, key: string): unknown {
  const text = metadata[key];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`metadata "${key}" is not valid JSON: ${(e as Error).message}`);
  }
}

function readConfig(metadata: Record<string, string>, expected: GPTConfig | undefined): GPTConfig {
  const raw = readJson(metadata, META.config);
  if (raw === undefined) {
    if (!expected) throw new CheckpointError(`no "${META.config}" in the metadata and no expected config given`);
    validateConfig(expected);
    return expected;
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new CheckpointError(`metadata "${META.config}" is not an object`);
  const record = raw as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(CONFIG_FIELDS as readonly string[]).includes(key)) throw new CheckpointError(`config has an unknown field "${key}"`);
  }
  for (const key of CONFIG_FIELDS) {
    if (typeof record[key] !== 'number') throw new CheckpointError(`config field "${key}" is missing or not a number`);
  }
  const config = Object.freeze(Object.fromEntries(CONFIG_FIELDS.map((k) => [k, record[k]]))) as unknown as GPTConfig;
  try {
    validateConfig(config);
  } catch (e) {
    throw new CheckpointError(`invalid config in the file: ${(e as Error).message}`);
  }
  if (expected) {
    const diff = ARCHITECTURE_FIELDS.filter((k) => config[k] !== expected[k]);
    if (diff.length > 0) {
      throw new CheckpointError(
        `the file's model does not match the expected config: ${diff.map((k) => `${k} ${config[k]} (expected ${expected[k]})`).join(', ')}`,
      );
    }
  }
  return config;
}

/** Tensors by our parameter names, every one checked against `config` before any is returned. */
function readWeights(tensors: readonly DecodedTensor[], config: GPTConfig, head: HeadName | undefined): Record<string, Float32Array<ArrayBuffer>> {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  // GPT2LMHeadModel names carry `transformer.`; GPT2Model and the original GPT-2 files do not.
  const prefixed = tensors.some((t) => t.name.startsWith(CHECKPOINT_PREFIX));
  const fileName = (name: string) => {
    const full = checkpointTensorName(name);
    return prefixed || !full.startsWith(CHECKPOINT_PREFIX) ? full : full.slice(CHECKPOINT_PREFIX.length);
  };
  const shapes = parameterShapes(config, head);
  const claimed = new Set<string>();

  for (const { name } of shapes) {
    if (!byName.has(fileName(name))) throw new CheckpointError(`tensor ${fileName(name)} is missing`);
    claimed.add(fileName(name));
  }
  const ignoredBuffer = new RegExp(`^${prefixed ? 'transformer\\.' : ''}h\\.\\d+\\.attn\\.(bias|masked_bias)$`);
  const lmHead = tensors.find((t) => t.name === 'lm_head.weight');
  const unexpected = tensors.filter((t) => !claimed.has(t.name) && !ignoredBuffer.test(t.name) && t !== lmHead).map((t) => t.name);
  if (unexpected.length > 0) {
    throw new CheckpointError(`unexpected tensors ${unexpected.join(', ')} (not parameters of ${configText(config)})`);
  }

  const weights: Record<string, Float32Array<ArrayBuffer>> = {};
  for (const { name, shape } of shapes) {
    const t = byName.get(fileName(name))!;
    checkTensor(t, fileShape(name, shape));
    weights[name] = tensorToFloat32(t);
    checkFinite(t.name, weights[name]);
  }
  if (lmHead) {
    checkTensor(lmHead, [config.vocabSize, config.dModel]);
    const head = new Uint32Array(tensorToFloat32(lmHead).buffer);
    const wte = new Uint32Array(weights.wte.buffer, weights.wte.byteOffset, weights.wte.length);
    if (!head.every((bits, i) => bits === wte[i])) {
      throw new CheckpointError('lm_head.weight differs from wte: untied LM heads are not supported (GPT-2 ties the head to the token embedding)');
    }
  }
  return weights;
}

function checkTensor(t: DecodedTensor, shape: readonly number[]): void {
  if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') {
    throw new CheckpointError(`tensor ${t.name} has dtype ${t.dtype}; expected F32 (F16 and BF16 are widened)`);
  }
  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  if (!same(t.shape, shape)) {
    const transposed = shape.length === 2 && same(t.shape, [shape[1], shape[0]]);
    throw new CheckpointError(
      `tensor ${t.name} has shape ${shapeText(t.shape)}, expected ${shapeText(shape)}` +
        (transposed ? " (transposed: GPT-2 stores linear weights [in, out] as its Conv1D, not nn.Linear's [out, in])" : ''),
    );
  }
}

/** Names the tensor, flat index and value of the first NaN or infinity. */
function checkFinite(tensorName: string, values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new CheckpointError(`tensor ${tensorName} holds ${values[i]} at flat index ${i}: every weight must be finite (saved from a run that diverged?)`);
    }
  }
}

export { SafetensorsError };
