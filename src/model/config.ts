// The GPT's configuration: a typed, frozen record of its architecture, named presets, validation against the
// kernels' and the device's limits, and the parameter list every other part (arena, checkpoints, ONNX, the
// float64 reference) agrees on.
import { ATTENTION_MAX_HEAD_SIZE } from '../kernels/limits';
import { VIEW_ALIGNMENT } from '../gpu/tensor';

export interface GPTConfig {
  /** Rows of the token embedding and columns of the logits: the tokenizer's vocabulary size. */
  readonly vocabSize: number;
  /** Longest sequence the model can read (rows of the position embedding wpe); T ≤ contextLength. */
  readonly contextLength: number;
  /** Transformer blocks: depth, the main lever on capacity after width. */
  readonly nLayer: number;
  /** Attention heads per block; dModel/nHead is the head size, which the attention kernel caps at 128. */
  readonly nHead: number;
  /** Width of the residual stream (C); the MLP is 4·dModel wide. */
  readonly dModel: number;
  /** Dropout probability on embeddings, attention output and MLP output while training (0 disables it). */
  readonly dropout: number;
}

export type PresetName = 'nano' | 'tiny' | 'small';

/**
 * nano: the test model (2 layers, d = 32, 2 heads, ctx 32; 28.5k parameters at V = 64), fast on SwiftShader.
 * tiny: the default (4 layers, d = 64, 4 heads, ctx 128; ~0.21M parameters at a ~100-character vocabulary),
 *       trains in minutes in a browser tab.
 * small: 6 layers, d = 128, 4 heads, ctx 256 (~1.2M parameters at V ≈ 100): the largest preset, for a real GPU.
 * vocabSize is a placeholder the tokenizer overrides (makeConfig(preset, { vocabSize })).
 */
export const PRESETS: Readonly<Record<PresetName, GPTConfig>> = Object.freeze({
  nano: Object.freeze({ vocabSize: 64, contextLength: 32, nLayer: 2, nHead: 2, dModel: 32, dropout: 0 }),
  tiny: Object.freeze({ vocabSize: 96, contextLength: 128, nLayer: 4, nHead: 4, dModel: 64, dropout: 0.1 }),
  small: Object.freeze({ vocabSize: 96, contextLength: 256, nLayer: 6, nHead: 4, dModel: 128, dropout: 0.1 }),
});

export const DEFAULT_PRESET: PresetName = 'tiny';

const FIELDS = ['vocabSize', 'contextLength', 'nLayer', 'nHead', 'dModel', 'dropout'] as const;

/** A preset with some fields overridden, validated (against `limits` too when given) and frozen. */
export function makeConfig(preset: PresetName = DEFAULT_PRESET, overrides: Partial<GPTConfig> = {}, limits?: DeviceLimits): GPTConfig {
  const base = PRESETS[preset];
  if (!base) throw new Error(`GPTConfig: unknown preset "${preset}" (expected one of ${Object.keys(PRESETS).join(', ')})`);
  for (const key of Object.keys(overrides)) {
    if (!(FIELDS as readonly string[]).includes(key)) throw new Error(`GPTConfig: unknown field "${key}" (fields: ${FIELDS.join(', ')})`);
  }
  const config = Object.freeze({ ...base, ...overrides });
  validateConfig(config, limits);
  return config;
}

/** The device limits a config must fit (rt.adapter.limits or rt.device.limits have them). */
export interface DeviceLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

/**
 * Throws an error naming the offending field when the config cannot run: non-positive or non-integer sizes,
 * dModel not divisible by nHead, a head size over the attention kernel's maximum, dropout outside [0, 1), or
 * (with `limits`) a tensor larger than the device can bind. The largest tensors are the parameter arena (bound
 * whole by AdamW and the gradient norm) and, per sequence, the logits (contextLength, vocabSize); batches are
 * checked again when they are run.
 */
export function validateConfig(config: GPTConfig, limits?: DeviceLimits): void {
  for (const key of ['vocabSize', 'contextLength', 'nLayer', 'nHead', 'dModel'] as const) {
    const v = config[key];
    if (!Number.isInteger(v) || v < 1) throw new Error(`GPTConfig.${key} must be a positive integer, got ${v}`);
  }
  const { dModel, nHead, dropout } = config;
  if (dModel % nHead !== 0) throw new Error(`GPTConfig.dModel (${dModel}) must be divisible by nHead (${nHead})`);
  const headSize = dModel / nHead;
  if (headSize > ATTENTION_MAX_HEAD_SIZE) {
    throw new Error(`GPTConfig.nHead: head size dModel/nHead = ${headSize} exceeds the attention kernel's maximum ${ATTENTION_MAX_HEAD_SIZE}; use more heads`);
  }
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
    throw new Error(`GPTConfig.dropout must be in [0, 1), got ${dropout}`);
  }
  if (!limits) return;
  const bindable = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const arena = arenaBytes(config);
  if (arena > bindable) {
    throw new Error(
      `GPTConfig: the ${parameterCount(config)} parameters need a ${arena}-byte arena, over this device's ` +
        `${bindable}-byte storage binding limit; reduce nLayer or dModel`,
    );
  }
  const tensors: [string, number][] = [
    ['vocabSize', config.contextLength * config.vocabSize * 4], // logits of one full-length sequence
    ['contextLength', config.contextLength * 4 * dModel * 4], // one sequence's MLP activation
  ];
  for (const [field, bytes] of tensors) {
    if (bytes > bindable) {
      throw new Error(`GPTConfig.${field}: one ${config.contextLength}-token sequence needs a ${bytes}-byte tensor, over this device's ${bindable}-byte binding limit`);
    }
  }
}

/**
 * A scalar head on the final hidden states, C → 1 at every position: the reward model's `score` (read at the last
 * token) and the value model's `value` (one estimate per position). The language-model head stays tied to wte.
 */
export type HeadName = 'score' | 'value';
export const HEAD_NAMES: readonly HeadName[] = ['score', 'value'];

/**
 * Every parameter's name and shape in GPT-2's order: wte, wpe, h.0 … h.{nLayer−1}, ln_f (see issue 3's
 * conventions), then the scalar head's `<head>.weight` (C,1) and `<head>.bias` (1) when there is one.
 */
export function parameterShapes(config: GPTConfig, head?: HeadName): { name: string; shape: number[] }[] {
  const { vocabSize: V, contextLength: maxT, nLayer: L, dModel: C } = config;
  const out = [
    { name: 'wte', shape: [V, C] },
    { name: 'wpe', shape: [maxT, C] },
  ];
  for (let i = 0; i < L; i++) {
    const h = `h.${i}`;
    out.push(
      { name: `${h}.ln_1.weight`, shape: [C] },
      { name: `${h}.ln_1.bias`, shape: [C] },
      { name: `${h}.attn.c_attn.weight`, shape: [C, 3 * C] },
      { name: `${h}.attn.c_attn.bias`, shape: [3 * C] },
      { name: `${h}.attn.c_proj.weight`, shape: [C, C] },
      { name: `${h}.attn.c_proj.bias`, shape: [C] },
      { name: `${h}.ln_2.weight`, shape: [C] },
      { name: `${h}.ln_2.bias`, shape: [C] },
      { name: `${h}.mlp.c_fc.weight`, shape: [C, 4 * C] },
      { name: `${h}.mlp.c_fc.bias`, shape: [4 * C] },
      { name: `${h}.mlp.c_proj.weight`, shape: [4 * C, C] },
      { name: `${h}.mlp.c_proj.bias`, shape: [C] },
    );
  }
  out.push({ name: 'ln_f.weight', shape: [C] }, { name: 'ln_f.bias', shape: [C] });
  if (head) {
    if (!HEAD_NAMES.includes(head)) throw new Error(`unknown head "${head}" (expected one of ${HEAD_NAMES.join(', ')})`);
    out.push({ name: `${head}.weight`, shape: [C, 1] }, { name: `${head}.bias`, shape: [1] });
  }
  return out;
}

/** V·C + maxT·C + L·(12C² + 13C) + 2C (+ C + 1 with a scalar head). */
export function parameterCount(config: GPTConfig, head?: HeadName): number {
  return parameterShapes(config, head).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
}

/** Bytes of the parameter arena: every parameter padded to the 256-byte view alignment. */
export function arenaBytes(config: GPTConfig, head?: HeadName): number {
  const align = (bytes: number) => Math.ceil(bytes / VIEW_ALIGNMENT) * VIEW_ALIGNMENT;
  return parameterShapes(config, head).reduce((s, p) => s + align(4 * p.shape.reduce((a, b) => a * b, 1)), 0);
}
