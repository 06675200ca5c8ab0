// Reverse-mode autodiff over GPU tensors. Ops (src/autograd/ops.ts) run their forward kernels on a Step as they
// are called and record how to run their backward kernels; tape.backward() records those backward dispatches on
// the same Step in reverse order. Nothing runs until the step is submitted, so a whole training step (forward,
// backward, optimizer) is one submit.
//
// Gradient buffers. A parameter's gradient is its view into the gradient arena: every contribution accumulates
// into it (the trainer zeroes the arena once per optimizer step, so micro-batches add up). Any other tensor's
// gradient is created by its first contribution, which overwrites (saving a zero fill), and later contributions
// accumulate — so a tensor used twice gets both contributions. When an op's backward has run, the gradients of
// its outputs are dead: their buffers go to a spare list the rest of the backward reuses (dispatches run in
// recording order, so a buffer can serve several tensors whose lifetimes do not overlap). Activations and
// gradients come from the runtime's buffer pool and go back to it in dispose(), so a step that repeats the
// same shapes allocates nothing after its first run.
//
// WebGPU forbids binding one buffer as read-only and read-write in one dispatch (even disjoint ranges), so
// parameters (read) and gradients (written) live in separate arenas, and every op writes a fresh buffer.
import type { DType, GpuRuntime, Step, Tensor } from '../gpu';
import { Tensor as TensorClass } from '../gpu/tensor';
import { fillConstant } from '../kernels/fill';
import { residualBackward } from '../kernels/residual';

/** A tensor on a tape: a parameter, an input, or an op's output. */
export class Var<D extends DType = DType> {
  constructor(
    readonly tensor: Tensor<D>,
    /** Whether gradients flow to this tensor (a parameter, or the output of an op with such an input). */
    readonly requiresGrad: boolean,
    readonly name: string,
    /** For parameters: the gradient view every contribution accumulates into. */
    readonly paramGrad?: Tensor,
  ) {}

  get shape(): readonly number[] {
    return this.tensor.shape;
  }

  get size(): number {
    return this.tensor.size;
  }
}

/** Where a backward kernel writes a gradient: overwrite when `accumulate` is false, add when true. */
export interface GradTarget {
  tensor: Tensor;
  accumulate: boolean;
}

interface Op {
  name: string;
  inputs: readonly Var[];
  outputs: readonly Var[];
  /** Loss ops: their backward runs with no upstream gradient (the fused loss kernels already have it). */
  terminal: boolean;
  backward: (tape: Tape) => void;
}

export interface TapeOptions {
  /** Record backward passes (default true). false: a forward-only tape, e.g. for evaluation or sampling. */
  grad?: boolean;
}

function poolSize(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 16) * 16); // the buffer pool's rounding (src/gpu/buffers.ts)
}

export class Tape {
  readonly rt: GpuRuntime;
  readonly grad: boolean;
  private readonly ops: Op[] = [];
  private readonly grads = new Map<Var, Tensor>();
  private readonly retained = new Set<Var>();
  /** Every buffer this tape took from the pool (as the tensors that took them), released in dispose(). */
  private readonly owned: Tensor[] = [];
  private readonly ownedBuffers = new Set<GPUBuffer>();
  /** Dead gradient buffers, by size, for the rest of the backward to reuse. */
  private readonly spare = new Map<number, GPUBuffer[]>();
  /** Temporaries of the op whose backward is being recorded, spared when it is done. */
  private temps: Tensor[] = [];
  private phase: 'forward' | 'backward' | 'done' | 'disposed' = 'forward';

  constructor(
    readonly step: Step,
    options: TapeOptions = {},
  ) {
    this.rt = step.rt;
    this.grad = options.grad ?? true;
  }

  // ---- leaves --------------------------------------------------------------------------------------------------

  /** A parameter: gradients accumulate into `grad` (zero it before the first backward of an optimizer step). */
  param(tensor: Tensor, grad: Tensor, name: string): Var {
    if (grad.size !== tensor.size) throw new Error(`Tape.param "${name}": gradient has ${grad.size} elements, parameter ${tensor.size}`);
    if (grad.buffer === tensor.buffer) throw new Error(`Tape.param "${name}": parameter and gradient share a buffer`);
    return new Var(tensor, this.grad, name, grad);
  }

  /** An input (tokens, targets, a constant). With requiresGrad its gradient is kept for gradOf() after backward. */
  input<D extends DType>(tensor: Tensor<D>, name: string, options: { requiresGrad?: boolean } = {}): Var<D> {
    const v = new Var(tensor, this.grad && (options.requiresGrad ?? false), name);
    if (v.requiresGrad) this.retained.add(v);
    return v;
  }

  // ---- forward -------------------------------------------------------------------------------------------------

  /** A fresh tensor from the runtime's pool, released in dispose(): an op's output or a saved activation. */
  alloc<D extends DType = 'f32'>(shape: readonly number[], label: string, dtype: D = 'f32' as D): Tensor<D> {
    this.assertPhase('alloc', 'forward', 'backward');
    const t = this.rt.tensor(shape, label, dtype);
    this.owned.push(t);
    this.ownedBuffers.add(t.buffer);
    return t;
  }

  /** Wraps an op's output tensor; it needs a gradient when any input does. */
  output(tensor: Tensor, name: string, inputs: readonly Var[]): Var {
    return new Var(tensor, this.grad && inputs.some((v) => v.requiresGrad), name);
  }

  /** Records an op's backward, run by tape.backward(). Ops call it only when some input requires a gradient. */
  record(name: string, inputs: readonly Var[], outputs: readonly Var[], backward: (tape: Tape) => void, options: { terminal?: boolean } = {}): void {
    this.assertPhase('record', 'forward');
    if (!this.grad) return;
    this.ops.push({ name, inputs, outputs, terminal: options.terminal ?? false, backward });
  }

  /** Keeps v's gradient after backward (normally an intermediate's gradient buffer is reused once consumed). */
  retainGrad(v: Var): void {
    this.retained.add(v);
  }

  // ---- backward ------------------------------------------------------------------------------------------------

  /**
   * Records every backward kernel, last op first. Loss ops (terminal) start it; `seeds` add upstream gradients
   * for other outputs (e.g. dL/dlogprobs of a loss computed elsewhere), copied so the caller keeps its tensors.
   * Ops whose outputs received no gradient are skipped.
   */
  backward(seeds: readonly { v: Var; grad: Tensor }[] = []): void {
    this.assertPhase('backward', 'forward');
    if (!this.grad) throw new Error('Tape.backward: this tape was created with { grad: false }');
    this.phase = 'backward';
    for (const { v, grad } of seeds) {
      const t = this.target(v);
      if (!t) throw new Error(`Tape.backward: seed for "${v.name}", which does not require a gradient`);
      residualBackward(this.step, grad, t.tensor, { accumulate: t.accumulate });
    }
    for (let i = this.ops.length - 1; i >= 0; i--) {
      const op = this.ops[i];
      if (!op.terminal && !op.outputs.some((o) => this.grads.has(o))) continue;
      op.backward(this);
      for (const o of op.outputs) {
        const g = this.grads.get(o);
        if (g && !this.retained.has(o)) {
          this.grads.delete(o);
          this.toSpare(g);
        }
      }
      for (const t of this.temps) this.toSpare(t);
      this.temps = [];
    }
    this.phase = 'done';
  }

  /** After backward: v's gradient (a parameter's arena view, or a retained tensor's), undefined if it got none. */
  gradOf(v: Var): Tensor | undefined {
    if (v.paramGrad) return v.paramGrad;
    return this.grads.get(v);
  }

  /** Releases every buffer the tape took (activations, gradients) to the pool. Call once the step is recorded. */
  dispose(): void {
    if (this.phase === 'disposed') return;
    this.phase = 'disposed';
    this.rt.free(...this.owned);
    this.owned.length = 0;
    this.ownedBuffers.clear();
    this.spare.clear();
    this.grads.clear();
  }

  // ---- for ops' backward functions -----------------------------------------------------------------------------

  /** The upstream gradient of an op's output (undefined when nothing downstream contributed to it). */
  gradOut(v: Var): Tensor | undefined {
    return this.grads.get(v);
  }

  /**
   * Where a kernel that can accumulate writes v's gradient: the parameter view (accumulate), v's existing
   * gradient (accumulate), or a new buffer that becomes v's gradient (overwrite). undefined when v needs none.
   */
  target(v: Var): GradTarget | undefined {
    if (!v.requiresGrad) return undefined;
    if (v.paramGrad) return { tensor: v.paramGrad, accumulate: true };
    const g = this.grads.get(v);
    if (g) return { tensor: g, accumulate: true };
    const fresh = this.take(v.shape, `grad ${v.name}`);
    this.grads.set(v, fresh);
    return { tensor: fresh, accumulate: false };
  }

  /**
   * Targets for several gradients one dispatch writes under a single accumulate flag (layernorm's dweight and
   * dbias): overwrite when none exists yet, else accumulate, zero-filling the new ones. Tensors needing no
   * gradient get a scratch buffer.
   */
  targets(vs: readonly Var[]): { tensors: Tensor[]; accumulate: boolean } {
    const exists = (v: Var) => v.requiresGrad && (v.paramGrad !== undefined || this.grads.has(v));
    const accumulate = vs.some(exists);
    const tensors = vs.map((v) => {
      if (!v.requiresGrad) return this.temp(v.shape, `unused grad ${v.name}`);
      const fresh = !exists(v);
      const t = this.target(v)!.tensor;
      if (accumulate && fresh) fillConstant(this.step, t, 0);
      return t;
    });
    return { tensors, accumulate };
  }

  /**
   * For kernels that can only overwrite (attention's backward): a buffer to write v's gradient into, and commit()
   * to call after the kernel, which adds it to v's existing gradient when there was one.
   */
  overwriteTarget(v: Var): { tensor: Tensor; commit: () => void } | undefined {
    const t = this.target(v);
    if (!t) return undefined;
    if (!t.accumulate) return { tensor: t.tensor, commit: () => {} };
    const scratch = this.temp(v.shape, `grad part ${v.name}`);
    return { tensor: scratch, commit: () => residualBackward(this.step, scratch, t.tensor, { accumulate: true }) };
  }

  /**
   * Hands v a finished gradient `g`, a buffer this tape owns that nothing will write again (e.g. the fused
   * cross-entropy's dlogits, or an output's gradient taken with takeGrad): it becomes v's gradient when v has
   * none (no copy), else it is added in.
   */
  adopt(v: Var, g: Tensor): void {
    if (g.size !== v.size) throw new Error(`Tape.adopt: gradient for "${v.name}" has ${g.size} elements, expected ${v.size}`);
    if (!v.requiresGrad) return this.toSpare(g);
    if (!v.paramGrad && !this.grads.has(v)) {
      this.grads.set(v, g.shape.join() === v.shape.join() ? g : g.reshape(v.shape));
      return;
    }
    residualBackward(this.step, g, this.target(v)!.tensor, { accumulate: true });
    this.toSpare(g);
  }

  /** Removes and returns an output's gradient so the op can pass the buffer on with adopt() (identity-like ops). */
  takeGrad(v: Var): Tensor | undefined {
    if (this.retained.has(v)) return undefined;
    const g = this.grads.get(v);
    this.grads.delete(v);
    return g;
  }

  /** A scratch tensor for the current op's backward, reused by later ops once it is done. */
  temp(shape: readonly number[], label: string): Tensor {
    const t = this.take(shape, label);
    this.temps.push(t);
    return t;
  }

  // ---- internals -----------------------------------------------------------------------------------------------

  private take(shape: readonly number[], label: string): Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    const reuse = this.spare.get(poolSize(size * 4))?.pop();
    if (reuse) return new TensorClass(reuse, shape, 'f32', 0, label);
    return this.alloc(shape, label);
  }

  private toSpare(t: Tensor): void {
    if (t.byteOffset !== 0 || !this.ownedBuffers.has(t.buffer)) return; // not ours to recycle
    const key = t.buffer.size;
    const list = this.spare.get(key) ?? [];
    if (!list.includes(t.buffer)) list.push(t.buffer);
    this.spare.set(key, list);
  }

  private assertPhase(what: string, ...allowed: (typeof this.phase)[]): void {
    if (!allowed.includes(this.phase)) throw new Error(`Tape.${what}: not allowed after ${this.phase === 'disposed' ? 'dispose()' : 'backward()'}`);
  }
}
