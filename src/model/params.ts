// Every parameter of the GPT in one GPU buffer (the arena), each a 256-byte-aligned view named as in GPT-2, and a
// gradient arena with the same layout. One buffer means AdamW and the gradient norm cover the whole model in a
// dispatch or two, and a checkpoint is one readback.
//
// Arena layout: the weight-decay group first (every 2-D weight: wte, wpe, c_attn, c_proj, c_fc, mlp c_proj — decay
// on matrices only, as nanoGPT), then the no-decay group (biases and LayerNorm parameters), each group in GPT-2's
// parameter order. The groups are contiguous, so AdamW runs once per group over a plain range. The padding
// between views is zero in the parameter and the gradient arenas (written so at creation, never touched by a
// kernel), so it adds nothing to the gradient norm and AdamW leaves it at zero.
import { type GpuRuntime, type Tensor } from '../gpu';
import { VIEW_ALIGNMENT } from '../gpu/tensor';
import { type GPTConfig, type HeadName, parameterShapes, validateConfig } from './config';
import { seededRandom } from './data';

export interface ParamSpec {
  name: string;
  shape: number[];
  size: number;
  /** Element offset of the parameter in the arena (a multiple of 64: 256 bytes). */
  offset: number;
  /** In the weight-decay group (2-D weights). */
  decay: boolean;
}

export interface ArenaLayout {
  /** In GPT-2's order (parameterShapes), whatever their arena position. */
  params: ParamSpec[];
  /** Elements of the arena, padding included. */
  size: number;
  /** The decay group is [0, decaySize), the no-decay group [decaySize, size). */
  decaySize: number;
}

const ALIGN = VIEW_ALIGNMENT / 4; // elements

export function arenaLayout(config: GPTConfig, head?: HeadName): ArenaLayout {
  const shapes = parameterShapes(config, head).map((p) => ({ ...p, size: p.shape.reduce((a, b) => a * b, 1), decay: p.shape.length >= 2 }));
  const offsets = new Map<string, number>();
  let at = 0;
  for (const group of [true, false]) {
    for (const p of shapes) {
      if (p.decay !== group) continue;
      offsets.set(p.name, at);
      at += Math.ceil(p.size / ALIGN) * ALIGN;
    }
    if (group) offsets.set('<decay end>', at);
  }
  return {
    params: shapes.map((p) => ({ ...p, offset: offsets.get(p.name)! })),
    size: Math.max(at, ALIGN),
    decaySize: offsets.get('<decay end>')!,
  };
}

/**
 * GPT-2's initialisation on the CPU, from a seed: weights and embeddings N(0, 0.02²), the residual projections
 * (attn.c_proj.weight and mlp.c_proj.weight) N(0, (0.02/√(2·nLayer))²) so the residual stream's variance does not
 * grow with depth, biases 0, LayerNorm weights 1 and biases 0. A scalar head's weight is N(0, 1/(C+1)) (the reward
 * head initialisation of "The N Implementation Details of RLHF with PPO"), its bias 0. Each parameter draws from
 * its own stream (seeded by seed and its index), so changing one shape does not reshuffle the others.
 */
export function initWeights(config: GPTConfig, seed = 0, head?: HeadName): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  parameterShapes(config, head).forEach((p, index) => {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const w = new Float32Array(n);
    if (/\.ln_\d\.weight$|^ln_f\.weight$/.test(p.name)) w.fill(1);
    else if (p.shape.length >= 2) {
      const std = p.name === `${head}.weight` ? 1 / Math.sqrt(config.dModel + 1) : /c_proj\.weight$/.test(p.name) ? 0.02 / Math.sqrt(2 * config.nLayer) : 0.02;
      const r = seededRandom((Math.imul(seed >>> 0, 0x9e3779b1) + index * 0x85ebca6b) >>> 0);
      for (let i = 0; i < n; i++) w[i] = std * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    }
    out[p.name] = w;
  });
  return out;
}

/** The parameters and gradients of one GPT on the GPU. Create with GPTParams.create; free with dispose(). */
export class GPTParams {
  readonly layout: ArenaLayout;
  private readonly byName = new Map<string, { spec: ParamSpec; value: Tensor; grad: Tensor }>();
  private disposed = false;

  private constructor(
    readonly rt: GpuRuntime,
    readonly config: GPTConfig,
    /** (size) every parameter, views at layout offsets. */
    readonly arena: Tensor<'f32'>,
    /** (size) every gradient, same layout. */
    readonly gradArena: Tensor<'f32'>,
    /** The scalar head whose parameters follow the transformer's, if any. */
    readonly head: HeadName | undefined,
  ) {
    this.layout = arenaLayout(config, head);
    for (const spec of this.layout.params) {
      this.byName.set(spec.name, {
        spec,
        value: arena.view(spec.shape, spec.offset * 4, spec.name),
        grad: gradArena.view(spec.shape, spec.offset * 4, `grad ${spec.name}`),
      });
    }
  }

  /**
   * Allocates both arenas and fills the parameters with GPT-2's initialisation from `seed`, or with `weights`. With
   * a `head`, `weights` may leave the head's parameters out (a reward model made from an SFT policy): they are then
   * initialised from `seed`.
   */
  static create(
    rt: GpuRuntime,
    config: GPTConfig,
    options: { seed?: number; weights?: Record<string, ArrayLike<number>>; head?: HeadName } = {},
  ): GPTParams {
    validateConfig(config, rt.device.limits);
    const { head } = options;
    const layout = arenaLayout(config, head);
    const arena = rt.upload(new Float32Array(layout.size), [layout.size], 'params', 'f32');
    const grads = rt.upload(new Float32Array(layout.size), [layout.size], 'grads', 'f32');
    const p = new GPTParams(rt, config, arena, grads, head);
    try {
      const { weights, seed = 0 } = options;
      if (!weights) p.setWeights(initWeights(config, seed, head));
      else if (head && !(`${head}.weight` in weights)) {
        const init = initWeights(config, seed, head);
        p.setWeights({ ...weights, [`${head}.weight`]: init[`${head}.weight`], [`${head}.bias`]: init[`${head}.bias`] });
      } else p.setWeights(weights);
    } catch (e) {
      p.dispose();
      throw e;
    }
    return p;
  }

  /** Parameter names in GPT-2's order. */
  get names(): string[] {
    return this.layout.params.map((p) => p.name);
  }

  /** The parameter's view into the arena, shaped as in parameterShapes. */
  get(name: string): Tensor {
    return this.entry(name).value;
  }

  /** The parameter's gradient view into the gradient arena. */
  grad(name: string): Tensor {
    return this.entry(name).grad;
  }

  spec(name: string): ParamSpec {
    return this.entry(name).spec;
  }

  /** Every parameter, copied from the GPU in one readback. */
  async getWeights(): Promise<Record<string, Float32Array>> {
    this.assertLive();
    return this.unpack(await this.rt.read(this.arena));
  }

  /** Every parameter's gradient (as left by the last backward), in one readback. */
  async getGrads(): Promise<Record<string, Float32Array>> {
    this.assertLive();
    return this.unpack(await this.rt.read(this.gradArena));
  }

  /**
   * Writes parameters from the CPU (landing before the next submit). Validates every entry before writing any,
   * so a bad record changes nothing: unknown names, wrong lengths, non-finite values, and (unless `partial`)
   * missing names are errors naming the parameter.
   */
  setWeights(weights: Record<string, ArrayLike<number>>, options: { partial?: boolean } = {}): void {
    this.assertLive();
    const problems: string[] = [];
    for (const [name, w] of Object.entries(weights)) {
      const e = this.byName.get(name);
      if (!e) {
        problems.push(`unknown parameter "${name}"`);
        continue;
      }
      if (w.length !== e.spec.size) problems.push(`"${name}" has ${w.length} values, expected ${e.spec.size} for shape [${e.spec.shape}]`);
    }
    if (!options.partial) {
      const missing = this.names.filter((n) => !(n in weights));
      if (missing.length) problems.push(`missing ${missing.length} parameter(s): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
    }
    if (problems.length) throw new Error(`setWeights: ${problems.join('; ')} (nothing was written)`);
    const converted: [ParamSpec, Float32Array<ArrayBuffer>][] = [];
    for (const [name, w] of Object.entries(weights)) {
      const spec = this.byName.get(name)!.spec;
      const f32 = Float32Array.from(w);
      for (let i = 0; i < f32.length; i++) {
        if (!Number.isFinite(f32[i])) throw new Error(`setWeights: "${name}"[${i}] = ${f32[i]} is not finite (nothing was written)`);
      }
      converted.push([spec, f32]);
    }
    for (const [spec, f32] of converted) this.rt.write(this.get(spec.name), f32);
  }

  /** Frees both arenas; the object is unusable afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.rt.free(this.arena, this.gradArena);
  }

  private unpack(flat: Float32Array): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const p of this.layout.params) out[p.name] = flat.slice(p.offset, p.offset + p.size);
    return out;
  }

  private entry(name: string) {
    this.assertLive();
    const e = this.byName.get(name);
    if (!e) throw new Error(`GPT parameter "${name}" does not exist (parameters: ${this.names.slice(0, 4).join(', ')}, …)`);
    return e;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('GPTParams used after dispose()');
  }
}
