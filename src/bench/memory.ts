// The theoretical minimum of GPU memory for one training step of the GPT (src/model/gpt.ts) on a (B,T) batch,
// which `npm run bench -- train` compares with what the lab's buffer pool actually holds.
//
// minimum = params + grads + Adam m + Adam v + kept activations, all f32 (4 bytes), nothing padded:
//   4·P floats for P = parameterCount(config) (the parameters, their gradients and both moments), plus the
//   activations the backward pass must read, counted from the model's forward, N = B·T:
//     embedding:   x₀ = wte[tokens] + wpe                                   N·C   (ln_1's input in block 0)
//     per block:   ln_1 out (c_attn's input, its dW needs it)               N·C
//                  ln_1 mean, rstd                                          2·N
//                  qkv = c_attn out (attention backward)                    3·N·C
//                  attention out (c_proj's dW; the flash backward's D)      N·C
//                  attention log-sum-exp per (row, head)                    NH·N
//                  x after the attention residual (ln_2's input)            N·C
//                  ln_2 out (c_fc's input)                                  N·C
//                  ln_2 mean, rstd                                          2·N
//                  c_fc pre-activation (GELU backward)                      4·N·C
//                  GELU out (mlp.c_proj's input)                            4·N·C
//                  x after the MLP residual (next ln_1's or ln_f's input)   N·C
//                = 16·N·C + (NH + 4)·N per block
//     final:       ln_f out (the tied head's input, and wte's head dW)      N·C
//                  ln_f mean, rstd                                          2·N
//                  logits (N,V); their gradient can overwrite them          N·V
//   activations = N·C + L·(16·N·C + (NH+4)·N) + N·C + 2·N + N·V.
// Not counted, because a step need not keep them: the c_proj outputs (the residual add's backward needs neither
// summand), dropout outputs (masks are regenerated from a hash), the attention probabilities (the flash-style
// kernels recompute them), the integer token ids and targets, the gradients of activations while the backward
// runs (transient), scratch for reductions and uniforms. The minimum is therefore a lower bound: a real engine
// also needs some of what is excluded, and the ratio shows how much.
import { type GPTConfig, parameterCount } from '../model/config';

export interface MemoryMinimum {
  /** Floats of each part. */
  params: number;
  grads: number;
  adamM: number;
  adamV: number;
  activations: number;
  /** Activation floats of one transformer block: 16·N·C + (NH+4)·N. */
  perBlock: number;
  /** Total bytes (4 per float). */
  bytes: number;
}

/** Activation floats one block keeps for the backward: 16·N·C + (NH + 4)·N. */
export function blockActivationFloats(N: number, C: number, NH: number): number {
  return 16 * N * C + (NH + 4) * N;
}

/** Activation floats a training step keeps: N·C + L·block + N·C + 2·N + N·V (see the table above). */
export function activationFloats(config: GPTConfig, B: number, T: number): number {
  const { dModel: C, nHead: NH, nLayer: L, vocabSize: V } = config;
  const N = B * T;
  const embedding = N * C;
  const final = N * C + 2 * N + N * V;
  return embedding + L * blockActivationFloats(N, C, NH) + final;
}

/** The theoretical minimum bytes of a training step on a (B,T) batch: 4·P + activations, f32. */
export function theoreticalMinimum(config: GPTConfig, B: number, T: number): MemoryMinimum {
  if (!(Number.isInteger(B) && B >= 1 && Number.isInteger(T) && T >= 1)) throw new Error(`theoreticalMinimum: B and T must be positive integers, got B=${B}, T=${T}`);
  if (T > config.contextLength) throw new Error(`theoreticalMinimum: T = ${T} exceeds contextLength ${config.contextLength}`);
  const P = parameterCount(config);
  const activations = activationFloats(config, B, T);
  return {
    params: P,
    grads: P,
    adamM: P,
    adamV: P,
    activations,
    perBlock: blockActivationFloats(B * T, config.dModel, config.nHead),
    bytes: 4 * (4 * P + activations),
  };
}
