// AdamW over the whole parameter arena: the global gradient norm and clip factor (gradNorm), then one AdamW
// dispatch per parameter group (decay: the 2-D weights; no decay: biases and LayerNorm), all on the GPU with no
// readback. The moments m and v are arenas with the parameters' layout.
import type { GpuRuntime, Step, Tensor } from '../gpu';
import { adamwUpdate } from '../kernels/adamw';
import { fillConstant } from '../kernels/fill';
import { gradNorm, gradNormScratchSize } from '../kernels/gradnorm';
import type { GPTParams } from './params';

export interface AdamWOptions {
  /** Defaults are nanoGPT's: β = (0.9, 0.95), eps 1e-8, weight decay 0.1 on the 2-D weights, clip at norm 1. */
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global gradient-norm clipping threshold; ≤ 0 disables clipping. */
  gradClip: number;
}

export const ADAMW_DEFAULTS: Readonly<AdamWOptions> = Object.freeze({ beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradClip: 1 });

export class AdamW {
  readonly options: AdamWOptions;
  readonly m: Tensor;
  readonly v: Tensor;
  private readonly scratch: Tensor;
  private readonly rt: GpuRuntime;
  private disposed = false;

  constructor(
    readonly params: GPTParams,
    options: Partial<AdamWOptions> = {},
  ) {
    this.options = { ...ADAMW_DEFAULTS, ...options };
    const { beta1, beta2, eps, weightDecay, gradClip } = this.options;
    if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw new Error(`AdamW: betas must be in [0, 1), got (${beta1}, ${beta2})`);
    if (!(eps >= 0 && Number.isFinite(eps)) || !Number.isFinite(weightDecay) || !Number.isFinite(gradClip)) {
      throw new Error(`AdamW: eps, weightDecay and gradClip must be finite (eps ≥ 0), got ${eps}, ${weightDecay}, ${gradClip}`);
    }
    this.rt = params.rt;
    const n = params.layout.size;
    this.m = this.rt.upload(new Float32Array(n), [n], 'adamw m', 'f32');
    this.v = this.rt.upload(new Float32Array(n), [n], 'adamw v', 'f32');
    this.scratch = this.rt.tensor([gradNormScratchSize(n)], 'grad norm scratch');
  }

  /**
   * Records: clip = [‖g‖, min(1, gradClip/‖g‖)] from the gradient arena, then AdamW on both groups at step t
   * (1-based) with learning rate lr. A non-finite norm makes AdamW change nothing (see adamw_update.wgsl).
   * `clip` is a 2-element tensor outside the parameter, gradient and moment arenas (the trainer reads it back).
   */
  record(step: Step, clip: Tensor, lr: number, t: number): void {
    if (this.disposed) throw new Error('AdamW used after dispose()');
    const { beta1, beta2, eps, weightDecay, gradClip } = this.options;
    const { arena, gradArena, layout } = this.params;
    gradNorm(step, gradArena, clip, this.scratch, gradClip);
    const hp = { lr, t, beta1, beta2, eps };
    adamwUpdate(step, arena, gradArena, this.m, this.v, clip, { ...hp, weightDecay }, { offset: 0, length: layout.decaySize });
    adamwUpdate(step, arena, gradArena, this.m, this.v, clip, { ...hp, weightDecay: 0 }, { offset: layout.decaySize, length: layout.size - layout.decaySize });
  }

  /** Zeroes the moments (e.g. after loading other weights); lands in `step`. */
  reset(step: Step): void {
    fillConstant(step, this.m, 0);
    fillConstant(step, this.v, 0);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.rt.free(this.m, this.v, this.scratch);
  }
}
