// A small random GPT-2 model folder as Hugging Face writes one — config.json, model.safetensors (F32, F16 or BF16)
// and the tokenizer (tokenizer.json, or vocab.json + merges.txt) — made in memory by the tests that read it.
// The weights are multiples of 1/64 in [-0.5, 0.5] (LayerNorm weights 1 + that), which F16 and BF16 hold exactly,
// so every dtype's folder holds the same model.
import { encodeSafetensors, type TensorInput } from '../../src/model/safetensors';
import type { HfFile } from '../../src/model/hf-model';
import { type GptShape, referenceParameterShapes } from '../../src/reference/gpt';
import { GPT2_VOCAB_JSON, tokenizerJsonText } from './gpt2-files';
import { randomGptWeights } from './gpt-fixtures';

export type HfDtype = 'F32' | 'F16' | 'BF16';

/** GPT-2's 256 byte tokens (ids 0…255), then "Ġt", "he" and <|endoftext|>: 259 tokens. */
export const SMALL_VOCAB: Record<string, number> = {
  ...Object.fromEntries(Object.entries(JSON.parse(GPT2_VOCAB_JSON) as Record<string, number>).filter(([, id]) => id < 256)),
  'Ġt': 256,
  he: 257,
  '<|endoftext|>': 258,
};
export const SMALL_MERGES: [string, string][] = [
  ['Ġ', 't'],
  ['h', 'e'],
];

/** The folder's GPT2Config fields; any may be replaced or removed (undefined) by `config`. */
export const SMALL_CONFIG = { vocab_size: 259, n_positions: 16, n_layer: 2, n_head: 2, n_embd: 16 };
export const SMALL_SHAPE: GptShape = { vocabSize: 259, contextLength: 16, nLayer: 2, nHead: 2, dModel: 16 };

export interface HfFolderOptions {
  dtype?: HfDtype;
  /** GPT2LMHeadModel's names (transformer.…, the default) or GPT2Model's (none). */
  prefixed?: boolean;
  tokenizer?: 'tokenizer.json' | 'vocab.json + merges.txt';
  /** Fields of config.json to replace (undefined removes one). */
  config?: Record<string, unknown>;
  seed?: number;
}

/** The folder's files, and its weights by the lab's names (what reading it must give). */
export function hfGpt2Folder(options: HfFolderOptions = {}): { files: HfFile[]; weights: Record<string, Float32Array> } {
  const { dtype = 'F32', prefixed = true, tokenizer = 'tokenizer.json', seed = 5 } = options;
  const weights = randomGptWeights(SMALL_SHAPE, seed, 0.2);
  for (const w of Object.values(weights)) for (let i = 0; i < w.length; i++) w[i] = Math.max(-32, Math.min(96, Math.round(w[i] * 64))) / 64;
  const config = {
    architectures: [prefixed ? 'GPT2LMHeadModel' : 'GPT2Model'],
    model_type: 'gpt2',
    activation_function: 'gelu_new',
    layer_norm_epsilon: 1e-5,
    n_inner: null,
    bos_token_id: 258,
    eos_token_id: 258,
    ...SMALL_CONFIG,
    ...options.config,
  };
  const text = (name: string, s: string): HfFile => ({ name, bytes: new TextEncoder().encode(s) });
  const tokenizerFiles =
    tokenizer === 'tokenizer.json'
      ? [text('tokenizer.json', tokenizerJsonText(SMALL_VOCAB, SMALL_MERGES))]
      : [text('vocab.json', JSON.stringify(SMALL_VOCAB)), text('merges.txt', `#version: 0.2\n${SMALL_MERGES.map((m) => m.join(' ')).join('\n')}\n`)];
  return { files: [text('config.json', JSON.stringify(config)), hfSafetensors(SMALL_SHAPE, weights, dtype, prefixed), ...tokenizerFiles], weights };
}

/** model.safetensors of a model of `shape` (weights by lab names) in `dtype`, with GPT-2's names and an attention-mask buffer. */
export function hfSafetensors(shape: GptShape, weights: Record<string, Float32Array>, dtype: HfDtype = 'F32', prefixed = true): HfFile {
  const prefix = prefixed ? 'transformer.' : '';
  const tensors: TensorInput[] = referenceParameterShapes(shape).map(({ name, shape }) => ({
    name: prefix + (name === 'wte' || name === 'wpe' ? `${name}.weight` : name),
    dtype,
    shape,
    data: dtype === 'F32' ? weights[name] : Uint16Array.from(weights[name], dtype === 'F16' ? toF16 : toBF16),
  }));
  // transformers' older files also hold each layer's causal mask, a buffer the lab ignores.
  tensors.push({ name: `${prefix}h.0.attn.bias`, dtype: 'F32', shape: [1, 1, 2, 2], data: Float32Array.of(1, 0, 1, 1) });
  return { name: 'model.safetensors', bytes: encodeSafetensors(tensors, { format: 'pt' }) };
}

const f32Bits = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0];
/** BF16 of a float32 it holds exactly: the upper half of its bits. */
const toBF16 = (x: number) => f32Bits(x) >>> 16;
/** F16 of a normal float32 it holds exactly (or of 0): the exponent rebiased 127 → 15, the top 10 mantissa bits. */
function toF16(x: number): number {
  const bits = f32Bits(x);
  const sign = (bits >>> 16) & 0x8000;
  if ((bits & 0x7fffffff) === 0) return sign;
  return sign | ((((bits >>> 23) & 0xff) - 127 + 15) << 10) | ((bits >>> 13) & 0x3ff);
}
