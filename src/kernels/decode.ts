// Launcher for shaders/decode_forward.wgsl: one KV-cache decode step of the whole GPT — embedding, every block with
// its cache append, ln_f and the tied LM head — for one new token per row, in one dispatch.
// Legend: B rows, W sequence width, C channels, NH heads, HS = C/NH, maxT cache slots, L layers, V vocabulary.
import { params, type Step, type Tensor } from '../gpu';
import { VIEW_ALIGNMENT } from '../gpu/tensor';
import { assertDType, assertSize } from './checks';
import { MAX_WORKGROUPS_PER_DIM } from './grid';
import { LAYERNORM_EPS } from './layernorm';

/** The model as the decode kernel reads it: its dimensions and its parameters in one arena. */
export interface DecodeModel {
  nLayer: number;
  nHead: number;
  dModel: number;
  vocabSize: number;
  contextLength: number;
  /** Every parameter, GPT-2 names and layouts (linear weights [in, out]). */
  arena: Tensor;
  /** Element offset of a parameter in the arena. */
  offsetOf(name: string): number;
}

const ALIGN = VIEW_ALIGNMENT / 4; // elements

/**
 * Elements per layer of a decode cache: (B,NH,maxT,HS) rounded up to the view alignment, so that layer l of a
 * (L, stride) cache is a (B,NH,maxT,HS) view at l·stride (what kv_cache_write fills during the prefill).
 */
export function decodeCacheStride(B: number, NH: number, maxT: number, HS: number): number {
  return Math.ceil((B * NH * maxT * HS) / ALIGN) * ALIGN;
}

/** Shape of the kernel's per-row scratch: (B, 7C + NH + NH·maxT) — x, h, a (4C), att, sums, scores. */
export function decodeWorkShape(B: number, C: number, NH: number, maxT: number): [number, number] {
  return [B, 7 * C + NH + NH * maxT];
}

export interface DecodeOptions {
  /** Row b reads the token at pos[b] + offset (default 0) and samples from its logits the one after. */
  offset?: number;
  /** Threads per workgroup, 16 or 64. Default: 16 on CPU-emulated adapters (a coroutine per thread there), 64 on GPUs. */
  workgroupSize?: 16 | 64;
  /**
   * Rows per workgroup, 1 to 4: each weight a thread loads serves that many rows. Default on CPU-emulated adapters:
   * ⌈B / cores⌉ up to 4, so that every core gets a workgroup and each weight load serves as many rows as that allows
   * (SwiftShader, tiny preset, B = 4: 4 rows per workgroup run ~3× faster than 1 on one core); on GPUs 1 (B
   * workgroups; their caches serve the repeated weight reads).
   */
  rowsPerWorkgroup?: number;
}

/** Most rows one workgroup decodes (R_MAX in the shader). */
export const DECODE_MAX_ROWS_PER_WORKGROUP = 4;

/** Cores a CPU-emulated adapter can spread workgroups over (navigator.hardwareConcurrency; 2 where unknown). */
function cpuCores(): number {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return n !== undefined && Number.isInteger(n) && n >= 1 ? n : 2;
}

const LAYER_WEIGHTS = ['attn.c_attn.weight', 'attn.c_proj.weight', 'mlp.c_fc.weight', 'mlp.c_proj.weight'] as const;
const LAYER_VECTORS = ['ln_1.weight', 'ln_1.bias', 'attn.c_attn.bias', 'attn.c_proj.bias', 'ln_2.weight', 'ln_2.bias', 'mlp.c_fc.bias', 'mlp.c_proj.bias'] as const;

/** The arena offset of layer l's `name` is at(name) + l·stride for one stride per group: that stride (or throw). */
function layerStride(k: string, model: DecodeModel, names: readonly string[]): number {
  const at = (l: number, n: string) => model.offsetOf(`h.${l}.${n}`);
  const stride = model.nLayer > 1 ? at(1, names[0]) - at(0, names[0]) : 0;
  for (let l = 0; l < model.nLayer; l++) {
    for (const n of names) {
      if (at(l, n) !== at(0, n) + l * stride) throw new Error(`${k}: h.${l}.${n} is not at a regular layer stride in the arena`);
    }
  }
  if (stride < 0) throw new Error(`${k}: layers are stored in reverse order in the arena`);
  return stride;
}

// tokens (B,W) u32, pos (B) u32, k_cache, v_cache (L, stride) ⊃ (L,B,NH,maxT,HS), work (B, 7C+NH+NH·maxT)
//   → logits (B,V), cache slot pos[b]+offset of every layer; row b reads token tokens[b, pos[b]+offset]
export function decodeForward(
  step: Step,
  model: DecodeModel,
  tokens: Tensor,
  pos: Tensor,
  kCache: Tensor,
  vCache: Tensor,
  work: Tensor,
  logits: Tensor,
  options: DecodeOptions = {},
): void {
  const k = 'decode_forward';
  const { nLayer: L, nHead: NH, dModel: C, vocabSize: V, contextLength } = model;
  const { offset = 0, workgroupSize = step.rt.adapter.software ? 16 : 64 } = options;
  assertDType(k, model.arena, 'f32');
  assertDType(k, tokens, 'u32');
  assertDType(k, pos, 'u32');
  for (const t of [kCache, vCache, work, logits]) assertDType(k, t, 'f32');
  if (!(Number.isInteger(C / NH) && NH >= 1 && L >= 1)) throw new Error(`${k}: dModel ${C} is not a multiple of nHead ${NH}, or no layers`);
  if (tokens.shape.length !== 2) throw new Error(`${k}: ${tokens.label} must have shape (B,W), got [${tokens.shape}]`);
  const [B, W] = tokens.shape;
  if (B < 1 || B > MAX_WORKGROUPS_PER_DIM) throw new Error(`${k}: B = ${B} outside 1..${MAX_WORKGROUPS_PER_DIM}`);
  if (pos.size !== B) throw new Error(`${k}: ${pos.label} must have B = ${B} elements, got ${pos.size}`);
  if (!Number.isInteger(offset) || offset < 0) throw new Error(`${k}: offset must be a non-negative integer, got ${offset}`);
  const maxT = Math.min(W, contextLength);
  const stride = decodeCacheStride(B, NH, maxT, C / NH);
  assertSize(k, kCache, L * stride, `k cache (L, stride) for maxT = ${maxT}`);
  assertSize(k, vCache, L * stride, `v cache (L, stride) for maxT = ${maxT}`);
  if (kCache.buffer === vCache.buffer) throw new Error(`${k}: the key and value caches share a buffer`);
  const [, workStride] = decodeWorkShape(B, C, NH, maxT);
  assertSize(k, work, B * workStride, 'work (B, 7C+NH+NH·maxT)');
  assertSize(k, logits, B * V, 'logits (B,V)');
  if (L * stride > 0xffffffff || model.arena.size > 0xffffffff) throw new Error(`${k}: the cache or the arena overflows u32 indexing`);
  if (workgroupSize !== 16 && workgroupSize !== 64) throw new Error(`${k}: workgroupSize must be 16 or 64, got ${workgroupSize}`);
  const R = options.rowsPerWorkgroup ?? (step.rt.adapter.software ? Math.min(DECODE_MAX_ROWS_PER_WORKGROUP, Math.ceil(B / cpuCores())) : 1);
  if (!(Number.isInteger(R) && R >= 1 && R <= DECODE_MAX_ROWS_PER_WORKGROUP)) {
    throw new Error(`${k}: rowsPerWorkgroup must be an integer in 1..${DECODE_MAX_ROWS_PER_WORKGROUP}, got ${R}`);
  }
  const at = (name: string) => model.offsetOf(name);
  const h0 = (name: string) => at(`h.0.${name}`);
  const layerW = layerStride(k, model, LAYER_WEIGHTS);
  const layerB = layerStride(k, model, LAYER_VECTORS);
  step.dispatch({
    shader: k,
    overrides: { WG: workgroupSize, R },
    uniforms: params(
      [
        B, C, NH, V, W, maxT, L, offset, stride, workStride,
        at('wte'), at('wpe'), at('ln_f.weight'), at('ln_f.bias'),
        h0('ln_1.weight'), h0('ln_1.bias'), h0('attn.c_attn.weight'), h0('attn.c_attn.bias'),
        h0('attn.c_proj.weight'), h0('attn.c_proj.bias'), h0('ln_2.weight'), h0('ln_2.bias'),
        h0('mlp.c_fc.weight'), h0('mlp.c_fc.bias'), h0('mlp.c_proj.weight'), h0('mlp.c_proj.bias'),
        layerW, layerB,
      ],
      [LAYERNORM_EPS, 1 / Math.sqrt(C / NH)],
    ),
    bindings: [model.arena, tokens, pos, kCache, vCache, work, logits],
    workgroups: [Math.ceil(B / R)],
  });
}
