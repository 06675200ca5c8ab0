// Batched generation on the GPU: temperature / top-k / top-p sampling with a KV cache (or, for comparison, by
// recomputing the full context every step), seeded, stopping at EOS or after maxNewTokens.
//
// Ragged prompts: per-row positions, no left padding. Every row keeps its whole sequence in a (B,W) u32 buffer on
// the GPU — its prompt at positions 0..len_b−1, then the sampled tokens — and a (B,W) buffer of their
// log-probabilities. Rows advance in lockstep: decode step s reads row b's token at position len_b − 1 + s and
// samples the token at position len_b + s. Each row sees exactly the positions a lone run of it would (the
// attention is causal and never reads past a row's own position), so batching does not change any row's logits.
//
// Cached path (default): a prefill runs positions 0..len_b−2 of every row through the blocks (right-padded to the
// longest prompt; slots past a row's prompt get overwritten before anything reads them) and writes each layer's
// keys/values into a (B,NH,W,HS) cache; the last layer needs only its keys/values. Then one token per row per
// step in two dispatches: decode_forward runs the whole model for it — embedding at the row's position, per layer
// ln_1 → c_attn → cache append → attention → c_proj + residual → ln_2 → c_fc + GELU → c_proj + residual, ln_f →
// logits (B,V), one workgroup per row (at M = B every matmul is a matrix-vector product, and a decode step is
// bound by dispatches, not arithmetic) — then sample_forward, which writes the token into the sequence buffer
// where the next step's decode_forward reads it. The CPU never sees a token between steps:
// `stepsPerSubmit` steps go in one submit, after which the sequences are read back once to check for EOS.
// Full-context path (useCache: false): each step copies the (B,T) prefix of the sequence buffer (T = the longest
// row so far) and runs the model's own forward (GPT.hidden/logits, the training code path) over it, then samples
// from each row's logits at its own position.
//
// Both paths draw with the same counter-based RNG, indexed by each row's stream (a seed and a row counter: by default
// the call's seed and the row's index in the batch) and the position of the sampled token, never by how many draws
// came before, so they produce the same tokens for the same streams (up to f32 rounding of
// the logits moving a draw across a boundary, which needs a draw within ~1e-6 of one). The log-probability returned
// is log softmax(logits/τ)[token] over the full vocabulary — before top-k/top-p truncation, as PPO needs — and
// log softmax(logits)[token] for greedy decoding (temperature 0). See shaders/sample_forward.wgsl.
import type { GpuRuntime, Step, Tensor } from '../gpu';
import { timed } from '../gpu/time-split';
import { Tape } from '../autograd/tape';
import { attentionForward } from '../kernels/attention';
import { checkTokenIds } from '../kernels/embedding';
import { decodeCacheStride, decodeForward, type DecodeModel, decodeWorkShape } from '../kernels/decode';
import { embeddingDecode } from '../kernels/embedding-decode';
import { kvCacheWrite } from '../kernels/kv-cache';
import { layernormForward } from '../kernels/layernorm';
import { matmul } from '../kernels/matmul';
import { residualForward } from '../kernels/residual';
import { sampleForward } from '../kernels/sample';
import { sequenceCopy } from '../kernels/sequence-copy';
import type { GPT } from './gpt';
import type { Tokenizer } from './tokenizer';

export interface GenerateOptions {
  /** Token ids of each prompt (at least one token each; ragged lengths are fine). */
  prompts: readonly ArrayLike<number>[];
  /** New tokens per row at most; every prompt length + maxNewTokens must fit in the context. */
  maxNewTokens: number;
  /** τ ≥ 0 (default 1); 0 is greedy decoding. */
  temperature?: number;
  /** Sample among the k most likely tokens; 0 (default) is off. */
  topK?: number;
  /** Sample among the smallest most-likely set with mass ≥ p, in (0, 1]; 1 (default) is off. */
  topP?: number;
  /** u32 seed (default 0): the same seed, prompts and batch order give the same tokens. */
  seed?: number;
  /**
   * Per row, its RNG stream [seed, row counter] (u32 each), in place of [seed, b]: a row with the same prompt and
   * stream draws the same tokens in any batch, so a caller can generate its rows in batches of any size.
   */
  streams?: readonly (readonly [number, number])[];
  /** A row stops after emitting this id (included in its output); undefined: rows run to maxNewTokens. */
  eos?: number;
  /** KV cache (default true) or recompute the full context each step. */
  useCache?: boolean;
  /** Decode steps recorded per submit (default 16); EOS is checked between submits. */
  stepsPerSubmit?: number;
}

export interface GenerateResult {
  /** Per row: the generated ids (prompt excluded), through the EOS when the row finished. */
  ids: Uint32Array[];
  /** Per row: log softmax(logits/τ)[id] of each generated id (τ = 1 when greedy), untruncated by top-k/top-p. */
  logprobs: Float32Array[];
  /** Per row: whether it emitted EOS (false: it stopped at maxNewTokens). */
  finished: boolean[];
}

interface Plan {
  B: number;
  lens: number[];
  maxLen: number;
  /** Width of the sequence buffers: the longest prompt plus maxNewTokens (≤ contextLength). */
  W: number;
  maxNew: number;
  sampling: { temperature: number; topK: number; topP: number };
  /** (B,2): each row's RNG stream. */
  streams: Uint32Array<ArrayBuffer>;
  eos: number | undefined;
  stepsPerSubmit: number;
  seqInit: Uint32Array<ArrayBuffer>; // (B,W) prompts, right-padded with 0
}

function plan(model: GPT, o: GenerateOptions): Plan {
  const { vocabSize: V, contextLength } = model.config;
  const B = o.prompts.length;
  if (B < 1) throw new Error('generate: no prompts');
  const maxNew = o.maxNewTokens;
  if (!Number.isInteger(maxNew) || maxNew < 0) throw new Error(`generate: maxNewTokens must be a non-negative integer, got ${maxNew}`);
  const lens = o.prompts.map((p) => p.length);
  lens.forEach((n, b) => {
    if (n < 1) throw new Error(`generate: prompt ${b} is empty (start it with BOS)`);
    checkTokenIds(o.prompts[b], V, `generate: prompt ${b}`);
  });
  const maxLen = Math.max(...lens);
  const W = maxLen + maxNew;
  if (W > contextLength) {
    throw new Error(`generate: the longest prompt (${maxLen} tokens) plus maxNewTokens (${maxNew}) exceeds contextLength ${contextLength}`);
  }
  const temperature = o.temperature ?? 1;
  const topK = o.topK ?? 0;
  const topP = o.topP ?? 1;
  const seed = o.seed ?? 0;
  if (!(Number.isFinite(temperature) && temperature >= 0)) throw new Error(`generate: temperature must be ≥ 0, got ${temperature}`);
  if (!(Number.isInteger(topK) && topK >= 0)) throw new Error(`generate: topK must be a non-negative integer, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`generate: topP must be in (0, 1], got ${topP}`);
  const isU32 = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
  if (!isU32(seed)) throw new Error(`generate: seed must be a u32, got ${seed}`);
  if (o.streams && o.streams.length !== B) throw new Error(`generate: ${o.streams.length} streams for ${B} prompts`);
  const streams = new Uint32Array(2 * B);
  for (let b = 0; b < B; b++) {
    const [s, r] = o.streams?.[b] ?? [seed, b];
    if (!isU32(s) || !isU32(r)) throw new Error(`generate: stream ${b} must be two u32s, got [${s}, ${r}]`);
    streams.set([s, r], 2 * b);
  }
  if (o.eos !== undefined && !(Number.isInteger(o.eos) && o.eos >= 0 && o.eos < V)) throw new Error(`generate: eos ${o.eos} is not a token id (vocabulary ${V})`);
  const stepsPerSubmit = o.stepsPerSubmit ?? 16;
  if (!(Number.isInteger(stepsPerSubmit) && stepsPerSubmit >= 1)) throw new Error(`generate: stepsPerSubmit must be a positive integer, got ${stepsPerSubmit}`);
  const seqInit = new Uint32Array(B * W);
  o.prompts.forEach((p, b) => seqInit.set(Array.from(p), b * W));
  return { B, lens, maxLen, W, maxNew, sampling: { temperature, topK, topP }, streams, eos: o.eos, stepsPerSubmit, seqInit };
}

/** The GPU state every decoding step shares: sequences, their log-probabilities, each row's start position. */
interface Sequences {
  tokens: Tensor<'u32'>; // (B,W)
  logprobs: Tensor<'f32'>; // (B,W)
  /** len_b − 1: the position step 0 reads; step s reads pos + s and samples pos + s + 1. */
  pos: Tensor<'u32'>; // (B)
  streams: Tensor<'u32'>; // (B,2)
}

interface Decoder {
  /** Records decode step s (sampling into the sequence buffers). */
  step(step: Step, s: number): void;
  /** Called after each submit: frees what the submitted steps needed. */
  afterSubmit(): void;
  dispose(): void;
}

/**
 * Generates continuations of a batch of prompts on the GPU. Puts the model in eval mode (no dropout) for the
 * duration and restores its mode afterwards. Its time, readbacks included, is generation's (src/gpu/time-split.ts).
 */
export function generate(model: GPT, options: GenerateOptions): Promise<GenerateResult> {
  return timed('generation', () => generateOnGpu(model, options));
}

async function generateOnGpu(model: GPT, options: GenerateOptions): Promise<GenerateResult> {
  const p = plan(model, options);
  const { B, W, maxNew, lens } = p;
  if (maxNew === 0) {
    return { ids: lens.map(() => new Uint32Array(0)), logprobs: lens.map(() => new Float32Array(0)), finished: lens.map(() => false) };
  }
  const rt = model.rt;
  const wasTraining = model.training;
  model.eval();
  const seqs: Sequences = {
    tokens: rt.upload(p.seqInit, [B, W], 'generate/tokens', 'u32'),
    logprobs: rt.upload(new Float32Array(B * W), [B, W], 'generate/logprobs', 'f32'),
    pos: rt.upload(Uint32Array.from(lens, (n) => n - 1), [B], 'generate/pos', 'u32'),
    streams: rt.upload(p.streams, [B, 2], 'generate/streams', 'u32'),
  };
  let decoder: Decoder | undefined;
  let tokens: Uint32Array = p.seqInit;
  let logprobs: Float32Array = new Float32Array(B * W);
  let steps = 0;
  try {
    decoder = (options.useCache ?? true) ? new CachedDecoder(model, seqs, p) : new FullContextDecoder(model, seqs, p);
    while (steps < maxNew) {
      const step = rt.step(`generate ${steps}`);
      const end = Math.min(maxNew, steps + p.stepsPerSubmit);
      for (; steps < end; steps++) decoder.step(step, steps);
      const reads = [step.read(seqs.tokens), step.read(seqs.logprobs)] as const;
      await step.submit();
      decoder.afterSubmit();
      tokens = await reads[0];
      logprobs = await reads[1];
      if (p.eos !== undefined && lens.every((n, b) => tokens.subarray(b * W + n, b * W + n + steps).includes(p.eos!))) break;
    }
  } finally {
    decoder?.dispose();
    rt.free(seqs.tokens, seqs.logprobs, seqs.pos, seqs.streams);
    model.training = wasTraining;
  }

  const result: GenerateResult = { ids: [], logprobs: [], finished: [] };
  for (let b = 0; b < B; b++) {
    const start = b * W + lens[b];
    let n = steps;
    const at = p.eos === undefined ? -1 : tokens.subarray(start, start + steps).indexOf(p.eos);
    if (at >= 0) n = at + 1;
    result.ids.push(tokens.slice(start, start + n));
    result.logprobs.push(logprobs.slice(start, start + n));
    result.finished.push(at >= 0);
  }
  return result;
}

// ---- cached decoding ---------------------------------------------------------------------------------------------

class CachedDecoder implements Decoder {
  private readonly rt: GpuRuntime;
  private readonly decodeModel: DecodeModel;
  /** (L, stride): layer l's (B,NH,W,HS) keys (values) at l·stride — decode_forward's layout. */
  private readonly kCache: Tensor;
  private readonly vCache: Tensor;
  /** Layer l's cache as a (B,NH,W,HS) view, for the prefill's kv_cache_write. */
  private readonly kLayers: Tensor[] = [];
  private readonly vLayers: Tensor[] = [];
  /** decode_forward's per-row scratch and its logits (B,V), reused by every step. */
  private readonly work: Tensor;
  private readonly logits: Tensor;
  /** The prefill's (B,P,·) activations, freed after the first submit. */
  private prefill: Record<'x' | 'x2' | 'ln' | 'mean' | 'rstd' | 'qkv' | 'att' | 'lse' | 'proj' | 'fc' | 'zeros', Tensor> | undefined;
  private readonly P: number;

  constructor(
    private readonly model: GPT,
    private readonly seqs: Sequences,
    private readonly plan: Plan,
  ) {
    this.rt = model.rt;
    const { params } = model;
    this.decodeModel = { ...model.config, arena: params.arena, offsetOf: (name: string) => params.spec(name).offset };
    const { nLayer, nHead, dModel: C, vocabSize: V } = model.config;
    const HS = C / nHead;
    const { B, W } = plan;
    const t = (shape: number[], label: string) => this.rt.tensor(shape, `generate/${label}`);
    const stride = decodeCacheStride(B, nHead, W, HS);
    this.kCache = t([nLayer, stride], 'k_cache');
    this.vCache = t([nLayer, stride], 'v_cache');
    for (let l = 0; l < nLayer; l++) {
      this.kLayers.push(this.kCache.view([B, nHead, W, HS], l * stride * 4, `generate/h.${l}.k_cache`));
      this.vLayers.push(this.vCache.view([B, nHead, W, HS], l * stride * 4, `generate/h.${l}.v_cache`));
    }
    this.work = t(decodeWorkShape(B, C, nHead, W), 'decode_work');
    this.logits = t([B, V], 'logits');
    // The prefill covers positions 0..maxLen−2: each row's last prompt token goes through decode step 0.
    this.P = plan.maxLen - 1;
    const P = this.P;
    if (P > 0) {
      this.prefill = {
        x: t([B, P, C], 'prefill/x'),
        x2: t([B, P, C], 'prefill/x2'),
        ln: t([B, P, C], 'prefill/ln'),
        mean: t([B * P], 'prefill/mean'),
        rstd: t([B * P], 'prefill/rstd'),
        qkv: t([B, P, 3 * C], 'prefill/qkv'),
        att: t([B, P, C], 'prefill/att'),
        lse: t([B, nHead, P], 'prefill/lse'),
        proj: t([B, P, C], 'prefill/proj'),
        fc: t([B, P, 4 * C], 'prefill/fc'),
        zeros: this.rt.upload(new Uint32Array(B), [B], 'generate/prefill/zeros', 'u32'),
      };
    }
  }

  private w(name: string): Tensor {
    return this.model.params.get(name);
  }

  /** Positions 0..P−1 of every row through the blocks, their keys/values into the cache (the last layer's only). */
  private recordPrefill(step: Step): void {
    const a = this.prefill!;
    const { nLayer, nHead, dModel: C } = this.model.config;
    const { B } = this.plan;
    const N = B * this.P;
    embeddingDecode(step, this.seqs.tokens, a.zeros, this.w('wte'), this.w('wpe'), a.x);
    for (let l = 0; l < nLayer; l++) {
      const h = (name: string) => this.w(`h.${l}.${name}`);
      layernormForward(step, a.x, h('ln_1.weight'), h('ln_1.bias'), a.ln, a.mean, a.rstd);
      matmul(step, a.ln, h('attn.c_attn.weight'), a.qkv, { m: N, k: C, n: 3 * C }, { bias: h('attn.c_attn.bias') });
      kvCacheWrite(step, a.qkv, a.zeros, this.kLayers[l], this.vLayers[l]);
      if (l === nLayer - 1) break; // later positions need only the last layer's keys and values
      attentionForward(step, a.qkv, a.att, a.lse, { B, T: this.P, C, NH: nHead });
      matmul(step, a.att, h('attn.c_proj.weight'), a.proj, { m: N, k: C, n: C }, { bias: h('attn.c_proj.bias') });
      residualForward(step, a.x, a.proj, a.x2);
      layernormForward(step, a.x2, h('ln_2.weight'), h('ln_2.bias'), a.ln, a.mean, a.rstd);
      matmul(step, a.ln, h('mlp.c_fc.weight'), a.fc, { m: N, k: C, n: 4 * C }, { bias: h('mlp.c_fc.bias'), gelu: true });
      matmul(step, a.fc, h('mlp.c_proj.weight'), a.proj, { m: N, k: 4 * C, n: C }, { bias: h('mlp.c_proj.bias') });
      residualForward(step, a.x2, a.proj, a.x);
    }
  }

  /** Two dispatches: the whole model for one token per row (decode_forward), then sample_forward. */
  step(step: Step, s: number): void {
    if (s === 0 && this.prefill) this.recordPrefill(step);
    const { tokens, logprobs, pos, streams } = this.seqs;
    decodeForward(step, this.decodeModel, tokens, pos, this.kCache, this.vCache, this.work, this.logits, { offset: s });
    sampleForward(step, this.logits, pos, streams, tokens, logprobs, { ...this.plan.sampling, offset: s + 1 });
  }

  afterSubmit(): void {
    if (this.prefill) {
      this.rt.free(...Object.values(this.prefill));
      this.prefill = undefined;
    }
  }

  dispose(): void {
    this.afterSubmit();
    this.rt.free(this.kCache, this.vCache, this.work, this.logits);
    this.kLayers.length = 0;
    this.vLayers.length = 0;
  }
}

// ---- full-context decoding (no cache) ----------------------------------------------------------------------------

class FullContextDecoder implements Decoder {
  /** Tapes and token tensors of the steps recorded since the last submit. */
  private pending: { tape: Tape; tokens: Tensor }[] = [];

  constructor(
    private readonly model: GPT,
    private readonly seqs: Sequences,
    private readonly plan: Plan,
  ) {}

  step(step: Step, s: number): void {
    const { B, maxLen } = this.plan;
    // Row b's next logits are at position len_b − 1 + s ≤ maxLen − 1 + s: the forward needs T = maxLen + s.
    const T = maxLen + s;
    const tokens = this.model.rt.tensor([B, T], `generate/context ${T}`, 'u32');
    sequenceCopy(step, this.seqs.tokens, tokens);
    const tape = new Tape(step, { grad: false });
    this.pending.push({ tape, tokens });
    const logits = this.model.logits(tape, this.model.hidden(tape, tokens)).tensor; // (B,T,V)
    sampleForward(step, logits, this.seqs.pos, this.seqs.streams, this.seqs.tokens, this.seqs.logprobs, { ...this.plan.sampling, offset: s + 1, gather: true });
  }

  afterSubmit(): void {
    for (const { tape, tokens } of this.pending) {
      tape.dispose();
      this.model.rt.free(tokens);
    }
    this.pending = [];
  }

  dispose(): void {
    this.afterSubmit();
  }
}

// ---- text ----------------------------------------------------------------------------------------------------------

export interface GenerateTextOptions extends Omit<GenerateOptions, 'prompts' | 'eos'> {
  /** Prepend the tokenizer's BOS to every prompt (default true). */
  addBos?: boolean;
  /** Stop token (default the tokenizer's EOS; null: none). */
  eos?: number | null;
}

export interface GenerateTextResult extends GenerateResult {
  /** Per row: the generated text, special tokens (the EOS) dropped. */
  texts: string[];
}

/** generate() on text prompts: encodes them (BOS first by default), stops at the tokenizer's EOS, decodes. */
export async function generateText(model: GPT, tokenizer: Tokenizer, prompts: readonly string[], options: GenerateTextOptions): Promise<GenerateTextResult> {
  if (tokenizer.vocabSize !== model.config.vocabSize) {
    throw new Error(`generateText: the tokenizer has ${tokenizer.vocabSize} ids, the model's vocabulary is ${model.config.vocabSize}`);
  }
  const { addBos = true, eos = tokenizer.special.eos, ...rest } = options;
  const encoded = prompts.map((text) => {
    const ids = tokenizer.encode(text);
    if (!addBos) return ids;
    const withBos = new Uint32Array(ids.length + 1);
    withBos[0] = tokenizer.special.bos;
    withBos.set(ids, 1);
    return withBos;
  });
  const result = await generate(model, { ...rest, prompts: encoded, eos: eos ?? undefined });
  return { ...result, texts: result.ids.map((ids) => tokenizer.decode(ids, { specials: 'drop' })) };
}
