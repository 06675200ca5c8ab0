// The same GPT-2 decoder as src/model/gpt.ts, written with TF.js ops (no layers API), for the training benchmark
// (`npm run bench -- train`): its tokens/s on TF.js's WebGPU backend is the baseline the lab engine is compared
// with. The TF.js module is passed in, so the same code runs on the WebGPU backend in the bench page and on the
// CPU backend in Node (tests/bench/train-tfjs.test.ts checks its loss against the float64 reference GPT).
//
// Architecture (identical to the lab's, parameter for parameter):
//   x = dropout(wte[tokens] + wpe[0..T))
//   per block:  x = x + dropout(c_proj(attention(c_attn(ln_1(x)))))
//               x = x + dropout(mlp.c_proj(gelu_tanh(c_fc(ln_2(x)))))
//   logits = ln_f(x)·wteᵀ (tied head);  loss = Σ w·nll / Σ w
// Weights are tf.variables in GPT-2's names and shapes (linear weights [in, out], c_attn columns [q | k | v],
// heads contiguous), LayerNorm eps 1e-5 as the lab's kernels. Attention is the plain (B,NH,T,T) formulation with
// an additive causal mask: TF.js has no fused attention, so this is what a TF.js user would write.
//
// Optimizer: AdamW as the lab's (src/model/optimizer.ts): global-norm clipping (scale min(1, clip/(‖g‖+1e-6))),
// then for every weight of the decay group (the 2-D ones) the decoupled decay w ← w·(1 − lr·wd), then
// tf.train.adam (bias-corrected, ε added to √v̂) on the clipped gradient. Decay before the Adam step is
// PyTorch's AdamW order and equals the lab's single formula w − lr·(m̂/(√v̂+ε) + wd·w) in exact arithmetic.
// Differences: the learning rate is fixed when the optimizer is built (the benchmark uses a constant one), there
// is no on-GPU skip of non-finite updates, and dropout masks come from TF.js's RNG (same rate and sites, other
// random bits).
// Shapes: B batch, T ≤ contextLength, C = dModel, NH heads, HS = C/NH, V vocabulary, N = B·T.
import type * as TF from '@tensorflow/tfjs';
import { type GPTConfig, parameterShapes } from '../model/config';
import { ADAMW_DEFAULTS, type AdamWOptions } from '../model/optimizer';

type Tf = typeof TF;

/** Matches the lab's LayerNorm (src/reference/layernorm.ts LAYERNORM_EPS). */
const LN_EPS = 1e-5;
/** PyTorch's clip_grad_norm_ epsilon, as the lab's gradnorm kernel. */
const CLIP_EPS = 1e-6;
/** Added to masked attention scores: exp(−1e9 − max) is exactly 0 in f32. */
const MASKED = -1e9;

/** A (B,T) batch on the CPU, as src/model/gpt.ts's Batch. */
export interface TfBatch {
  readonly B: number;
  readonly T: number;
  readonly tokens: ArrayLike<number>; // (B,T)
  readonly targets: ArrayLike<number>; // (B,T)
  readonly weights?: ArrayLike<number>; // (B,T), default ones
}

export interface TfGptOptions extends Partial<AdamWOptions> {
  /** Constant learning rate of the optimizer (default 1e-3). */
  lr?: number;
}

let instances = 0;

export class TfGpt {
  /** Variables by GPT-2 parameter name. */
  readonly vars: Record<string, TF.Variable> = {};
  readonly options: AdamWOptions & { lr: number };
  private readonly decayNames: string[];
  private readonly optimizer: TF.AdamOptimizer;
  private readonly masks = new Map<number, TF.Tensor2D>();
  private disposed = false;

  /** `weights`: every parameter by GPT-2 name (e.g. initWeights(config, seed), the lab model's start). */
  constructor(
    readonly tf: Tf,
    readonly config: GPTConfig,
    weights: Record<string, ArrayLike<number>>,
    options: TfGptOptions = {},
  ) {
    this.options = { ...ADAMW_DEFAULTS, lr: 1e-3, ...options };
    const id = instances++;
    for (const p of parameterShapes(config)) {
      const w = weights[p.name];
      const n = p.shape.reduce((a, b) => a * b, 1);
      if (!w || w.length !== n) throw new Error(`TfGpt: weight "${p.name}" needs ${n} values for shape [${p.shape}], got ${w?.length ?? 'none'}`);
      // Variable names are global in TF.js: the instance id keeps two models apart.
      // (tidy frees the initial tensor; the variable keeps its own reference to the data.)
      this.vars[p.name] = tf.tidy(() => tf.variable(tf.tensor(Float32Array.from(w), p.shape), true, `tfgpt${id}/${p.name}`));
    }
    this.decayNames = parameterShapes(config).filter((p) => p.shape.length >= 2).map((p) => p.name);
    const { lr, beta1, beta2, eps } = this.options;
    this.optimizer = tf.train.adam(lr, beta1, beta2, eps);
  }

  // ---- the model -------------------------------------------------------------------------------------------------

  /** tokens (B,T) int32 → logits (N,V). Call inside tf.tidy. */
  logits(tokens: TF.Tensor2D, training: boolean): TF.Tensor2D {
    const tf = this.tf;
    const { nLayer, nHead, dModel: C, contextLength, dropout } = this.config;
    const [B, T] = tokens.shape;
    if (T > contextLength) throw new Error(`TfGpt: T = ${T} exceeds contextLength ${contextLength}`);
    const N = B * T;
    const HS = C / nHead;
    const v = (name: string) => this.vars[name];
    const drop = (x: TF.Tensor): TF.Tensor => (training && dropout > 0 ? tf.dropout(x, dropout) : x);
    const layernorm = (x: TF.Tensor, prefix: string): TF.Tensor => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, LN_EPS))), v(`${prefix}.weight`)), v(`${prefix}.bias`));
    };
    const linear = (x: TF.Tensor, prefix: string): TF.Tensor => tf.add(tf.matMul(x as TF.Tensor2D, v(`${prefix}.weight`) as TF.Tensor2D), v(`${prefix}.bias`));
    // GPT-2's tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    const gelu = (x: TF.Tensor): TF.Tensor =>
      tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))));
    // (N,C) → (B,NH,T,HS)
    const heads = (x: TF.Tensor) => tf.transpose(tf.reshape(x, [B, T, nHead, HS]), [0, 2, 1, 3]);

    const pos = tf.slice(v('wpe'), [0, 0], [T, C]); // (T,C)
    let x: TF.Tensor = tf.reshape(tf.add(tf.reshape(tf.gather(v('wte'), tf.reshape(tokens, [N])), [B, T, C]), pos), [N, C]);
    x = drop(x);
    const mask = this.causalMask(T);
    for (let i = 0; i < nLayer; i++) {
      const h = `h.${i}`;
      const qkv = linear(layernorm(x, `${h}.ln_1`), `${h}.attn.c_attn`); // (N,3C)
      const [q, k, vv] = tf.split(qkv, 3, 1);
      const scores = tf.add(tf.mul(tf.matMul(heads(q), heads(k), false, true), 1 / Math.sqrt(HS)), mask); // (B,NH,T,T)
      const y = tf.matMul(tf.softmax(scores), heads(vv)); // (B,NH,T,HS)
      const att = tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [N, C]);
      x = tf.add(x, drop(linear(att, `${h}.attn.c_proj`)));
      const fc = gelu(linear(layernorm(x, `${h}.ln_2`), `${h}.mlp.c_fc`)); // (N,4C)
      x = tf.add(x, drop(linear(fc, `${h}.mlp.c_proj`)));
    }
    return tf.matMul(layernorm(x, 'ln_f') as TF.Tensor2D, v('wte') as TF.Tensor2D, false, true); // (N,V)
  }

  /** The weighted mean loss Σ w·nll / Σ w of a batch (a scalar; call inside tf.tidy or dispose it). */
  loss(batch: TfBatch, training = false): TF.Scalar {
    const tf = this.tf;
    const { B, T } = batch;
    const N = B * T;
    const V = this.config.vocabSize;
    for (const [what, a] of [['tokens', batch.tokens], ['targets', batch.targets], ['weights', batch.weights]] as const) {
      if (a && a.length !== N) throw new Error(`TfGpt batch: ${what} has ${a.length} values, expected B·T = ${N}`);
    }
    return tf.tidy(() => {
      const tokens = tf.tensor2d(Int32Array.from(batch.tokens), [B, T], 'int32');
      const targets = tf.tensor1d(Int32Array.from(batch.targets), 'int32');
      const w = batch.weights ? tf.tensor1d(Float32Array.from(batch.weights)) : tf.ones([N]);
      const logp = tf.logSoftmax(this.logits(tokens, training)); // (N,V)
      const nll = tf.neg(tf.sum(tf.mul(logp, tf.oneHot(targets, V)), -1)); // (N)
      return tf.div(tf.sum(tf.mul(w, nll)), tf.sum(w)) as TF.Scalar;
    });
  }

  /** Logits (B,T,V) on the CPU, dropout off. */
  async forward(tokens: ArrayLike<number>, B: number, T: number): Promise<Float32Array> {
    const out = this.tf.tidy(() => this.logits(this.tf.tensor2d(Int32Array.from(tokens), [B, T], 'int32'), false));
    try {
      return (await out.data()) as Float32Array;
    } finally {
      out.dispose();
    }
  }

  // ---- training ----------------------------------------------------------------------------------------------------

  /**
   * One AdamW step on a batch (dropout on): gradients of every variable, global-norm clip, decoupled decay, Adam.
   * Reads back [loss, gradient norm] once, as the lab's trainer does.
   */
  async trainStep(batch: TfBatch): Promise<{ loss: number; gradNorm: number }> {
    if (this.disposed) throw new Error('TfGpt used after dispose()');
    const tf = this.tf;
    const { lr, weightDecay, gradClip } = this.options;
    const metrics = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => this.loss(batch, true), Object.values(this.vars));
      const byName = this.gradsByName(grads);
      const names = Object.keys(byName);
      const norm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(byName[n]))))) as TF.Scalar;
      const scale = gradClip > 0 ? tf.minimum(1, tf.div(gradClip, tf.add(norm, CLIP_EPS))) : tf.scalar(1);
      if (weightDecay !== 0) for (const n of this.decayNames) this.vars[n].assign(tf.mul(this.vars[n], 1 - lr * weightDecay));
      this.optimizer.applyGradients(names.map((n) => ({ name: this.vars[n].name, tensor: tf.mul(byName[n], scale) })));
      return tf.stack([value, norm]);
    });
    try {
      const [loss, gradNorm] = (await metrics.data()) as Float32Array;
      return { loss, gradNorm };
    } finally {
      metrics.dispose();
    }
  }

  /** Every parameter's gradient of the loss on `batch` (dropout off), by GPT-2 name. */
  async grads(batch: TfBatch): Promise<{ loss: number; grads: Record<string, Float32Array> }> {
    const tf = this.tf;
    const { value, grads } = tf.variableGrads(() => this.loss(batch, false), Object.values(this.vars));
    try {
      const byName = this.gradsByName(grads);
      const out: Record<string, Float32Array> = {};
      for (const [n, g] of Object.entries(byName)) out[n] = (await g.data()) as Float32Array;
      return { loss: (await value.data())[0], grads: out };
    } finally {
      value.dispose();
      tf.dispose(grads);
    }
  }

  /** Every parameter by GPT-2 name, copied to the CPU. */
  async getWeights(): Promise<Record<string, Float32Array>> {
    const out: Record<string, Float32Array> = {};
    for (const [n, v] of Object.entries(this.vars)) out[n] = (await v.data()) as Float32Array;
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.optimizer.dispose();
    this.tf.dispose(Object.values(this.vars));
    this.tf.dispose([...this.masks.values()]);
    this.masks.clear();
  }

  // ---- internals ---------------------------------------------------------------------------------------------------

  /** (T,T): 0 where key ≤ query, −1e9 above the diagonal; cached per T (kept out of tidy). */
  private causalMask(T: number): TF.Tensor2D {
    let m = this.masks.get(T);
    if (!m) {
      const data = new Float32Array(T * T);
      for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) data[i * T + j] = MASKED;
      m = this.tf.keep(this.tf.tensor2d(data, [T, T]));
      this.masks.set(T, m);
    }
    return m;
  }

  /** variableGrads keys gradients by variable name; map them back to GPT-2 names. */
  private gradsByName(grads: TF.NamedTensorMap): Record<string, TF.Tensor> {
    const out: Record<string, TF.Tensor> = {};
    for (const [n, v] of Object.entries(this.vars)) {
      const g = grads[v.name];
      if (!g) throw new Error(`TfGpt: no gradient for "${n}"`);
      out[n] = g;
    }
    return out;
  }
}
