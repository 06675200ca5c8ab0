// The GPT-2 style decoder on the GPU, written with the autograd ops so its backward comes from the tape:
//   x = dropout(wte[tokens] + wpe[0..T))
//   per block:  x = x + dropout(c_proj(attention(c_attn(ln_1(x)))))
//               x = x + dropout(mlp.c_proj(gelu(c_fc(ln_2(x)))))
//   h = ln_f(x);  logits = h·wteᵀ (the LM head tied to the token embedding);  loss = Σ w·nll / Σ w
// Dropout sits where GPT-2 puts it (embeddings, attention output projection, MLP output projection); the
// attention probabilities are not dropped, since the fused flash-style kernel never materialises them.
// Shapes: B batch, T ≤ contextLength, C = dModel, V = vocabSize, N = B·T.
import { Tape, type Var } from '../autograd/tape';
import * as op from '../autograd/ops';
import type { GpuRuntime, Tensor } from '../gpu';
import { timed } from '../gpu/time-split';
import { buildTokenIndex, checkTokenIds, type TokenIndexTensors, uploadTokenIndex } from '../kernels/embedding';
import { reduceScratchSize, reduceSum } from '../kernels/reduce';
import { type GPTConfig, type HeadName, validateConfig } from './config';
import { SITE_EMBEDDING, siteAttn, siteMlp } from './dropout-sites';
import { GPTParams } from './params';

/** A (B,T) batch on the CPU, row-major; the shape of data.ts's TokenBatch (weights optional, default ones). */
export interface Batch {
  readonly B: number;
  readonly T: number;
  readonly tokens: ArrayLike<number>; // (B,T) inputs
  readonly targets: ArrayLike<number>; // (B,T) next tokens
  readonly weights?: ArrayLike<number>; // (B,T) loss weights
}

/** A batch uploaded for one forward/backward (pool tensors; free with freeBatch). */
export interface BatchTensors {
  B: number;
  T: number;
  tokens: Tensor<'u32'>; // (B,T)
  targets: Tensor<'u32'>; // (N)
  weights: Tensor<'f32'>; // (N)
  /** The CSR index of the tokens, for wte's gradient. */
  index: TokenIndexTensors;
  /** Σ weights, computed on the CPU from the values uploaded. */
  weightSum: number;
}

export interface GPTOptions {
  /** Seed of GPT-2's initialisation (ignored with `weights`). */
  seed?: number;
  /** Start from these weights instead (names and shapes as parameterShapes). */
  weights?: Record<string, ArrayLike<number>>;
  /** Seed of the dropout masks. */
  dropoutSeed?: number;
  /** A scalar head (C → 1) after ln_f: 'score' for a reward model, 'value' for a value model (see scalar()). */
  head?: HeadName;
}

export class GPT {
  /** Dropout is active while training (p = config.dropout > 0); eval() turns it off. */
  training = true;
  readonly dropoutSeed: number;
  /** Forward passes run with dropout so far; the latest one's masks have this `step` key, so each draws fresh ones. */
  dropoutStep = 0;

  private constructor(
    readonly rt: GpuRuntime,
    readonly config: GPTConfig,
    readonly params: GPTParams,
    dropoutSeed: number,
  ) {
    this.dropoutSeed = dropoutSeed >>> 0;
  }

  static create(rt: GpuRuntime, config: GPTConfig, options: GPTOptions = {}): GPT {
    validateConfig(config, rt.device.limits);
    const params = GPTParams.create(rt, config, { seed: options.seed, weights: options.weights, head: options.head });
    return new GPT(rt, config, params, options.dropoutSeed ?? 0);
  }

  /** The scalar head, if this is a reward or value model. */
  get head(): HeadName | undefined {
    return this.params.head;
  }

  train(): this {
    this.training = true;
    return this;
  }

  eval(): this {
    this.training = false;
    return this;
  }

  // ---- the model -------------------------------------------------------------------------------------------------

  /**
   * Records the transformer on `tape`: tokens (B,T) → the final hidden states ln_f(x) (B,T,C), the input of the LM
   * head and of reward or value heads. `index` is the tokens' CSR index, needed when the tape records gradients.
   */
  hidden(tape: Tape, tokens: Tensor<'u32'>, index?: TokenIndexTensors): Var {
    const { nLayer, nHead, contextLength } = this.config;
    if (tokens.shape.length !== 2) throw new Error(`GPT: tokens must have shape (B,T), got [${tokens.shape}]`);
    const [B, T] = tokens.shape;
    if (T > contextLength) throw new Error(`GPT: sequence length T = ${T} exceeds contextLength ${contextLength}`);
    this.checkBatchSize(B, T);
    const w = this.paramVars(tape);
    const p = this.training ? this.config.dropout : 0;
    if (p > 0) this.dropoutStep = (this.dropoutStep + 1) >>> 0;
    // The n-th pass with dropout keys its masks with step n (the count, this pass included).
    const key = (site: number) => ({ seed: this.dropoutSeed, step: this.dropoutStep, site });

    let x = op.embedding(tape, tape.input(tokens, 'tokens'), w('wte'), w('wpe'), index);
    x = op.dropout(tape, x, p, key(SITE_EMBEDDING), 'embedding dropout');
    for (let i = 0; i < nLayer; i++) {
      const h = (name: string) => w(`h.${i}.${name}`);
      // attention
      const a = op.layernorm(tape, x, h('ln_1.weight'), h('ln_1.bias'), `h.${i}.ln_1`);
      const qkv = op.linear(tape, a, h('attn.c_attn.weight'), h('attn.c_attn.bias'), { name: `h.${i}.attn.c_attn` });
      const att = op.attention(tape, qkv, nHead, `h.${i}.attn`);
      const proj = op.linear(tape, att, h('attn.c_proj.weight'), h('attn.c_proj.bias'), { name: `h.${i}.attn.c_proj` });
      x = op.add(tape, x, op.dropout(tape, proj, p, key(siteAttn(i)), `h.${i}.attn.dropout`), `h.${i}.residual_1`);
      // MLP
      const m = op.layernorm(tape, x, h('ln_2.weight'), h('ln_2.bias'), `h.${i}.ln_2`);
      const fc = op.linear(tape, m, h('mlp.c_fc.weight'), h('mlp.c_fc.bias'), { gelu: true, name: `h.${i}.mlp.c_fc` });
      const mp = op.linear(tape, fc, h('mlp.c_proj.weight'), h('mlp.c_proj.bias'), { name: `h.${i}.mlp.c_proj` });
      x = op.add(tape, x, op.dropout(tape, mp, p, key(siteMlp(i)), `h.${i}.mlp.dropout`), `h.${i}.residual_2`);
    }
    return op.layernorm(tape, x, w('ln_f.weight'), w('ln_f.bias'), 'ln_f');
  }

  /** hidden (B,T,C) → logits (B,T,V) = hidden·wteᵀ. */
  logits(tape: Tape, hidden: Var): Var {
    return op.matmul(tape, hidden, this.paramVars(tape)('wte'), { transB: true, name: 'lm_head' });
  }

  /** The scalar head, hidden (B,T,C) → (B,T,1) = hidden·w + b: a reward or value estimate at every position. */
  scalar(tape: Tape, hidden: Var): Var {
    const head = this.params.head;
    if (!head) throw new Error('GPT.scalar: this model has no scalar head (create it with { head: "score" } or { head: "value" })');
    const w = this.paramVars(tape);
    return op.linear(tape, hidden, w(`${head}.weight`), w(`${head}.bias`), { name: head });
  }

  /**
   * Records forward and loss for an uploaded batch: returns the per-token weighted losses (N) and adds
   * gradScale·Σ losses to the tape's objective (gradScale = 1/Σw for this batch's weighted mean; the trainer
   * passes 1/Σw over all micro-batches).
   */
  loss(tape: Tape, batch: BatchTensors, gradScale = 1 / batch.weightSum): Tensor {
    const logits = this.logits(tape, this.hidden(tape, batch.tokens, batch.index));
    return op.crossEntropy(tape, logits, batch.targets, batch.weights, gradScale);
  }

  // ---- one-submit conveniences (forward only, dropout as per train()/eval()) -----------------------------------

  /** tokens (B,T) → logits (B,T,V), in one submit (dropout as the mode says: call eval() for inference). */
  async forward(tokens: ArrayLike<number>, B: number, T: number): Promise<Float32Array> {
    return this.runForward(tokens, B, T, (tape, t) => this.logits(tape, this.hidden(tape, t)));
  }

  /** tokens (B,T) → the scalar head at every position (B,T), in one submit. */
  async scalars(tokens: ArrayLike<number>, B: number, T: number): Promise<Float32Array> {
    return this.runForward(tokens, B, T, (tape, t) => this.scalar(tape, this.hidden(tape, t)));
  }

  /** tokens (B,T) → final hidden states ln_f(x) (B,T,C), in one submit. */
  async hiddenStates(tokens: ArrayLike<number>, B: number, T: number): Promise<Float32Array> {
    return this.runForward(tokens, B, T, (tape, t) => this.hidden(tape, t));
  }

  /** The weighted mean loss of a batch, forward only and always without dropout (evaluation), in one submit. */
  evaluate(batch: Batch): Promise<number> {
    return timed('forwardBackward', async () => {
      const step = this.rt.step('gpt evaluate');
      const tape = new Tape(step, { grad: false });
      const inputs = this.uploadBatch(batch);
      const out = this.rt.tensor([1], 'eval loss');
      const scratch = this.rt.tensor([reduceScratchSize(batch.B * batch.T)], 'eval loss scratch');
      const training = this.training;
      try {
        this.training = false;
        reduceSum(step, this.loss(tape, inputs), out, scratch, { scale: 1 / inputs.weightSum });
        const read = step.read(out);
        await step.submit();
        return (await read)[0];
      } finally {
        this.training = training;
        tape.dispose();
        this.freeBatch(inputs);
        this.rt.free(out, scratch);
      }
    });
  }

  // ---- batches -----------------------------------------------------------------------------------------------------

  /** Checks a CPU batch (shapes, ids, finite non-negative weights with a positive sum) and uploads it. */
  uploadBatch(batch: Batch): BatchTensors {
    const { B, T } = batch;
    const V = this.config.vocabSize;
    if (!Number.isInteger(B) || B < 1 || !Number.isInteger(T) || T < 1) throw new Error(`GPT batch: B and T must be positive integers, got B=${B}, T=${T}`);
    if (T > this.config.contextLength) throw new Error(`GPT batch: T = ${T} exceeds contextLength ${this.config.contextLength}`);
    const N = B * T;
    for (const [what, a] of [['tokens', batch.tokens], ['targets', batch.targets], ['weights', batch.weights]] as const) {
      if (a && a.length !== N) throw new Error(`GPT batch: ${what} has ${a.length} values, expected B·T = ${N}`);
    }
    const weights = batch.weights ? Float32Array.from(batch.weights) : new Float32Array(N).fill(1);
    let weightSum = 0;
    for (let i = 0; i < N; i++) {
      if (!(Number.isFinite(weights[i]) && weights[i] >= 0)) throw new Error(`GPT batch: loss weight ${weights[i]} at position ${i} must be finite and ≥ 0`);
      weightSum += weights[i];
    }
    if (!(weightSum > 0)) throw new Error('GPT batch: every loss weight is 0, so the loss is undefined');
    const tokens = Uint32Array.from(batch.tokens);
    checkTokenIds(tokens, V, 'GPT batch tokens');
    const targets = Uint32Array.from(batch.targets);
    // Targets at weight-0 positions are never read (padding may hold anything); weighted ones must be ids.
    for (let i = 0; i < N; i++) {
      if (weights[i] !== 0 && !(targets[i] < V && Number.isInteger(Number(batch.targets[i])))) {
        throw new Error(`GPT batch targets: token id ${batch.targets[i]} at position ${i} (loss weight ${weights[i]}) is outside the vocabulary 0..${V - 1}`);
      }
    }
    return {
      B,
      T,
      tokens: this.rt.upload(tokens, [B, T], 'tokens', 'u32'),
      targets: this.rt.upload(targets.map((t) => Math.min(t, V - 1)), [N], 'targets', 'u32'),
      weights: this.rt.upload(weights, [N], 'loss weights', 'f32'),
      index: uploadTokenIndex(this.rt, buildTokenIndex(tokens, V)),
      weightSum,
    };
  }

  freeBatch(b: BatchTensors): void {
    this.rt.free(b.tokens, b.targets, b.weights, b.index.offsets, b.index.positions);
  }

  dispose(): void {
    this.params.dispose();
  }

  // ---- internals ---------------------------------------------------------------------------------------------------

  /** The parameters as leaves of `tape` (cached per tape, so wte used twice is one Var). */
  private paramVars(tape: Tape): (name: string) => Var {
    let vars = this.varsByTape.get(tape);
    if (!vars) {
      vars = new Map();
      this.varsByTape.set(tape, vars);
    }
    const cache = vars;
    return (name) => {
      let v = cache.get(name);
      if (!v) {
        v = tape.param(this.params.get(name), this.params.grad(name), name);
        cache.set(name, v);
      }
      return v;
    };
  }

  private readonly varsByTape = new WeakMap<Tape, Map<string, Var>>();

  private checkBatchSize(B: number, T: number): void {
    const { vocabSize: V, dModel: C } = this.config;
    const limit = Math.min(this.rt.device.limits.maxStorageBufferBindingSize, this.rt.device.limits.maxBufferSize);
    const biggest = B * T * Math.max(V, 4 * C) * 4;
    if (biggest > limit) throw new Error(`GPT: a batch of B·T = ${B * T} tokens needs ${biggest}-byte activations (logits or MLP), over this device's ${limit}-byte binding limit; use smaller micro-batches`);
  }

  /** A forward pass in one submit: timed as forwardBackward (src/gpu/time-split.ts). */
  private runForward(tokens: ArrayLike<number>, B: number, T: number, build: (tape: Tape, tokens: Tensor<'u32'>) => Var): Promise<Float32Array> {
    return timed('forwardBackward', async () => {
      if (tokens.length !== B * T) throw new Error(`GPT.forward: ${tokens.length} tokens, expected B·T = ${B * T}`);
      const ids = Uint32Array.from(tokens);
      checkTokenIds(ids, this.config.vocabSize, 'GPT.forward tokens');
      const step = this.rt.step('gpt forward');
      const tape = new Tape(step, { grad: false });
      const t = this.rt.upload(ids, [B, T], 'tokens', 'u32');
      try {
        const out = build(tape, t);
        const read = step.read(out.tensor);
        await step.submit();
        return (await read) as Float32Array;
      } finally {
        tape.dispose();
        this.rt.free(t);
      }
    });
  }
}
