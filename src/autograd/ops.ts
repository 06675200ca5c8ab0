// Differentiable ops over the kernel launchers: each runs its forward kernel(s) on the tape's step now and, when
// an input needs a gradient, records a backward that calls the matching backward kernel(s). Composing them
// (src/model/gpt.ts, and later reward/value heads and PPO losses) needs no hand-written backward.
// Shapes: B batch, T sequence length, C channels, NH heads, V vocabulary; `...` any leading dimensions (rows).
import type { Tensor } from '../gpu';
import { attentionBackward, attentionForward } from '../kernels/attention';
import { assertDType } from '../kernels/checks';
import { crossentropyForwardBackward } from '../kernels/crossentropy';
import { preferenceLossForwardBackward, type PreferenceLoss } from '../kernels/preference-loss';
import { type DropoutKey, dropoutBackward, dropoutForward } from '../kernels/dropout';
import { embeddingBackwardWpe, embeddingBackwardWte, embeddingForward, type TokenIndexTensors } from '../kernels/embedding';
import { geluBackward } from '../kernels/gelu';
import { grpoLossForwardBackward, rlooLossForwardBackward } from '../kernels/grpo-loss';
import { layernormBackward, layernormBackwardInput, layernormForward, layernormScratchShape } from '../kernels/layernorm';
import { logprobBackward, logprobForward } from '../kernels/logprob';
import { matmul as matmulKernel, matmulBackward } from '../kernels/matmul';
import { ppoValueLossForwardBackward } from '../kernels/ppo-loss';
import { rankingLossForwardBackward } from '../kernels/ranking-loss';
import { residualBackward, residualForward } from '../kernels/residual';
import { type Tape, Var } from './tape';

function lastDim(v: Var): number {
  return v.shape[v.shape.length - 1];
}

function needs(...vs: (Var | undefined)[]): boolean {
  return vs.some((v) => v?.requiresGrad);
}

// ---- embedding -------------------------------------------------------------------------------------------------

/**
 * tokens (B,T) u32, wte (V,C), wpe (maxT,C) → x (B,T,C) = wte[tokens] + wpe[0..T).
 * `index` (the CSR token index of the same tokens, see buildTokenIndex) is needed when wte requires a gradient.
 */
export function embedding(tape: Tape, tokens: Var<'u32'>, wte: Var, wpe: Var, index?: TokenIndexTensors): Var {
  const [B, T] = tokens.shape;
  const C = lastDim(wte);
  const out = tape.alloc([B, T, C], 'embedding');
  embeddingForward(tape.step, tokens.tensor, wte.tensor, wpe.tensor, out);
  const x = tape.output(out, 'embedding', [wte, wpe]);
  if (x.requiresGrad) {
    if (wte.requiresGrad && !index) throw new Error('embedding: wte requires a gradient, so the token index (buildTokenIndex) is needed');
    tape.record('embedding', [wte, wpe], [x], (tp) => {
      const dout = tp.gradOut(x)!;
      const dwte = tp.target(wte);
      if (dwte) embeddingBackwardWte(tp.step, dout, index!, dwte.tensor, dwte.accumulate);
      const dwpe = tp.target(wpe);
      if (dwpe) embeddingBackwardWpe(tp.step, dout.reshape([B, T, C]), dwpe.tensor, dwpe.accumulate);
    });
  }
  return x;
}

// ---- layernorm -------------------------------------------------------------------------------------------------

// x (...,C), weight (C), bias (C) → (...,C), normalised over the last dimension
export function layernorm(tape: Tape, x: Var, weight: Var, bias: Var, name = 'layernorm'): Var {
  const C = lastDim(x);
  const N = x.size / C;
  const out = tape.alloc(x.shape, name);
  const mean = tape.alloc([N], `${name}/mean`);
  const rstd = tape.alloc([N], `${name}/rstd`);
  layernormForward(tape.step, x.tensor, weight.tensor, bias.tensor, out, mean, rstd);
  const y = tape.output(out, name, [x, weight, bias]);
  if (y.requiresGrad) {
    tape.record(name, [x, weight, bias], [y], (tp) => {
      const dout = tp.gradOut(y)!;
      const scratch = tp.temp(layernormScratchShape(N, C), `${name}/scratch`);
      const dx = tp.target(x) ?? { tensor: tp.temp(x.shape, `${name}/unused dx`), accumulate: false };
      if (needs(weight, bias)) {
        const { tensors: [dw, db], accumulate } = tp.targets([weight, bias]);
        layernormBackward(tp.step, dout, x.tensor, weight.tensor, mean, rstd, dx.tensor, dw, db, scratch, {
          accumulateInput: dx.accumulate,
          accumulateParams: accumulate,
        });
      } else {
        layernormBackwardInput(tp.step, dout, x.tensor, weight.tensor, mean, rstd, dx.tensor, scratch, dx.accumulate);
      }
    });
  }
  return y;
}

// ---- matmul ----------------------------------------------------------------------------------------------------

export interface LinearOptions {
  /** out = gelu(x·W + b) (GPT-2's tanh form); the pre-activation is saved for the backward. */
  gelu?: boolean;
  name?: string;
}

// x (...,K), w (K,N) [, bias (N)] → (...,N) = x·w + bias, optionally through GELU (one fused kernel)
export function linear(tape: Tape, x: Var, w: Var, bias?: Var, options: LinearOptions = {}): Var {
  const name = options.name ?? 'linear';
  const K = lastDim(x);
  if (w.shape.length !== 2 || w.shape[0] !== K) throw new Error(`${name}: weight ${w.name} has shape [${w.shape}], expected [${K}, N] for input [${x.shape}]`);
  const n = w.shape[1];
  const m = x.size / K;
  const shape = [...x.shape.slice(0, -1), n];
  const out = tape.alloc(shape, name);
  const pre = options.gelu ? tape.alloc(shape, `${name}/pre-gelu`) : undefined;
  matmulKernel(tape.step, x.tensor, w.tensor, out, { m, k: K, n }, { bias: bias?.tensor, gelu: options.gelu, preActivation: pre });
  const y = tape.output(out, name, bias ? [x, w, bias] : [x, w]);
  if (y.requiresGrad) {
    tape.record(name, bias ? [x, w, bias] : [x, w], [y], (tp) => {
      let dOut = tp.gradOut(y)!;
      if (pre) {
        const dpre = tp.temp(shape, `${name}/dpre`);
        geluBackward(tp.step, pre, dOut, dpre);
        dOut = dpre;
      }
      const [dx, dw, db] = [tp.target(x), tp.target(w), bias ? tp.target(bias) : undefined];
      matmulBackward(
        tp.step,
        { dOut, a: x.tensor, b: w.tensor, dA: dx?.tensor, dB: dw?.tensor, dBias: db?.tensor },
        { m, k: K, n },
        { accumulateA: dx?.accumulate, accumulateB: dw?.accumulate, accumulateBias: db?.accumulate },
      );
    });
  }
  return y;
}

// a (...,K) · op(b) → (...,N), op(b) = b (K,N), or bᵀ with b stored (N,K) when transB (the tied LM head: x·wteᵀ)
export function matmul(tape: Tape, a: Var, b: Var, options: { transB?: boolean; name?: string } = {}): Var {
  const name = options.name ?? 'matmul';
  const transB = options.transB ?? false;
  const K = lastDim(a);
  if (b.shape.length !== 2 || b.shape[transB ? 1 : 0] !== K) {
    throw new Error(`${name}: ${b.name} has shape [${b.shape}], expected ${transB ? `[N, ${K}]` : `[${K}, N]`} for input [${a.shape}]`);
  }
  const n = transB ? b.shape[0] : b.shape[1];
  const m = a.size / K;
  const out = tape.alloc([...a.shape.slice(0, -1), n], name);
  matmulKernel(tape.step, a.tensor, b.tensor, out, { m, k: K, n }, { transB });
  const y = tape.output(out, name, [a, b]);
  if (y.requiresGrad) {
    tape.record(name, [a, b], [y], (tp) => {
      const [da, db] = [tp.target(a), tp.target(b)];
      matmulBackward(
        tp.step,
        { dOut: tp.gradOut(y)!, a: a.tensor, b: b.tensor, dA: da?.tensor, dB: db?.tensor },
        { m, k: K, n },
        { transB, accumulateA: da?.accumulate, accumulateB: db?.accumulate },
      );
    });
  }
  return y;
}

// ---- attention -------------------------------------------------------------------------------------------------

// qkv (B,T,3C) → (B,T,C): causal multi-head self-attention, heads of C/NH channels
export function attention(tape: Tape, qkv: Var, nHead: number, name = 'attention'): Var {
  const [B, T, C3] = qkv.shape;
  if (qkv.shape.length !== 3 || C3 % 3 !== 0) throw new Error(`${name}: qkv must have shape (B,T,3C), got [${qkv.shape}]`);
  const dims = { B, T, C: C3 / 3, NH: nHead };
  const out = tape.alloc([B, T, dims.C], name);
  const lse = tape.alloc([B, nHead, T], `${name}/lse`);
  attentionForward(tape.step, qkv.tensor, out, lse, dims);
  const y = tape.output(out, name, [qkv]);
  if (y.requiresGrad) {
    tape.record(name, [qkv], [y], (tp) => {
      const dqkv = tp.overwriteTarget(qkv)!;
      attentionBackward(tp.step, qkv.tensor, out, tp.gradOut(y)!, lse, dqkv.tensor, dims);
      dqkv.commit();
    });
  }
  return y;
}

// ---- elementwise -----------------------------------------------------------------------------------------------

// a (N), b (N) → a + b (the residual connection)
export function add(tape: Tape, a: Var, b: Var, name = 'residual'): Var {
  if (a.size !== b.size) throw new Error(`${name}: ${a.name} has ${a.size} elements, ${b.name} ${b.size}`);
  const out = tape.alloc(a.shape, name);
  residualForward(tape.step, a.tensor, b.tensor, out);
  const y = tape.output(out, name, [a, b]);
  if (y.requiresGrad) {
    tape.record(name, [a, b], [y], (tp) => {
      // The gradient passes unchanged to both: b gets a copy, a takes the buffer itself (no copy).
      const dout = tp.gradOut(y)!;
      const db = tp.target(b);
      if (db) residualBackward(tp.step, dout, db.tensor, { accumulate: db.accumulate });
      const owned = tp.takeGrad(y);
      if (owned) tp.adopt(a, owned);
      else {
        const da = tp.target(a);
        if (da) residualBackward(tp.step, dout, da.tensor, { accumulate: da.accumulate });
      }
    });
  }
  return y;
}

/**
 * x (N) → keep·x/(1−p), the mask a hash of (key, element index) that the backward regenerates. The identity
 * (no kernel, no copy) when p = 0.
 */
export function dropout(tape: Tape, x: Var, p: number, key: DropoutKey, name = 'dropout'): Var {
  if (p === 0) return x;
  const out = tape.alloc(x.shape, name);
  dropoutForward(tape.step, x.tensor, out, p, key);
  const y = tape.output(out, name, [x]);
  if (y.requiresGrad) {
    tape.record(name, [x], [y], (tp) => {
      const dx = tp.target(x);
      if (dx) dropoutBackward(tp.step, tp.gradOut(y)!, dx.tensor, p, key, dx.accumulate);
    });
  }
  return y;
}

// ---- losses and log-probabilities ------------------------------------------------------------------------------

/**
 * Weighted cross-entropy, a loss op: logits (N,V), targets (N) u32, weights (N) → losses (N) = w·nll (a tensor,
 * not a Var). Its gradient w·gradScale·(softmax − onehot) comes from the same fused kernel and is handed to
 * logits in the backward, so the objective this adds to the backward is gradScale·Σ losses (gradScale = 1/Σw for
 * the weighted mean).
 */
export function crossEntropy(tape: Tape, logits: Var, targets: Tensor, weights: Tensor, gradScale: number, name = 'crossentropy'): Tensor {
  assertDType(name, targets, 'u32');
  const N = targets.size;
  const losses = tape.alloc([N], `${name}/losses`);
  const dlogits = tape.alloc(logits.shape, `${name}/dlogits`);
  crossentropyForwardBackward(tape.step, logits.tensor, targets, weights, losses, dlogits, gradScale);
  if (logits.requiresGrad) tape.record(name, [logits], [], (tp) => tp.adopt(logits, dlogits), { terminal: true });
  return losses;
}

// logits (N,V), tokens (N) u32 → logprobs (N) = log softmax(logits/τ)[token]
export function logprob(tape: Tape, logits: Var, tokens: Tensor, temperature = 1, name = 'logprob'): Var {
  const N = tokens.size;
  const out = tape.alloc([N], name);
  const stats = tape.alloc([N, 2], `${name}/stats`);
  logprobForward(tape.step, logits.tensor, tokens, out, stats, temperature);
  const y = tape.output(out, name, [logits]);
  if (y.requiresGrad) {
    tape.record(name, [logits], [y], (tp) => {
      const dl = tp.target(logits);
      if (dl) logprobBackward(tp.step, logits.tensor, tokens, stats, tp.gradOut(y)!, dl.tensor, temperature, dl.accumulate);
    });
  }
  return y;
}

export { Var };

// ---- RLHF losses -----------------------------------------------------------------------------------------------
// Terminal loss ops like crossEntropy: one fused kernel computes the per-token (per-group) loss and its gradient,
// which the backward hands to the input with tp.adopt (no copy), so the objective they add to the backward is
// gradScale·Σ losses. Weight-0 tokens get exactly 0 loss and gradient.

/** ε_low, ε_high and β of the group-relative policy loss (src/kernels/grpo-loss.ts). */
export interface GroupLossScalars {
  /** ρ is clipped below at 1 − ε_low. */
  epsLow: number;
  /** ρ is clipped above at 1 + ε_high (DAPO's clip-higher when above ε_low). */
  epsHigh: number;
  /** The k3 KL penalty's coefficient; 0 leaves refLogp unread. */
  beta: number;
}

/**
 * The group-relative policy loss (GRPO, Shao et al. 2024; DAPO's clip-higher range, Yu et al. 2025; a k3 KL penalty
 * to the reference): logp (N) (from op.logprob), oldLogp (N), refLogp (N) (undefined at β = 0: not read), advantages
 * (N) (each sequence's advantage on all of its tokens), weights (N) (the loss aggregation, src/rlhf/loss-aggregation.ts)
 * → losses (N) = w·(max(−A·ρ, −A·clamp(ρ, 1−ε_low, 1+ε_high)) + β·k3), ρ = exp(logp − oldLogp), and stats (3,N): the
 * rows clippedLow, clippedHigh (w where that side of the clip was active) and kl (w·k3). On-policy (one update per
 * batch, TRL's num_iterations = 1) pass logp.tensor itself as oldLogp: ρ = 1 exactly. Both outputs are tensors the
 * tape owns (read or copy them in the same step).
 */
export function groupPolicyLoss(
  tape: Tape,
  logp: Var,
  oldLogp: Tensor,
  refLogp: Tensor | undefined,
  advantages: Tensor,
  weights: Tensor,
  scalars: GroupLossScalars,
  gradScale: number,
  name = 'group_policy_loss',
): { losses: Tensor; stats: Tensor } {
  if (scalars.beta !== 0 && !refLogp) throw new Error(`${name}: β = ${scalars.beta} needs the reference log-probabilities`);
  return groupKernelLoss(tape, logp, name, (losses, dlogp, stats) =>
    grpoLossForwardBackward(tape.step, logp.tensor, oldLogp, refLogp ?? logp.tensor, advantages, weights, losses, dlogp, stats, { ...scalars, gradScale }),
  );
}

/** The tape side of a group-kernel loss: its outputs (losses (N), stats (3,N), dlogp), filled by `launch`, and dlogp as logp's gradient. */
function groupKernelLoss(tape: Tape, logp: Var, name: string, launch: (losses: Tensor, dlogp: Tensor, stats: Tensor) => void): { losses: Tensor; stats: Tensor } {
  const N = logp.size;
  const losses = tape.alloc([N], `${name}/losses`);
  const stats = tape.alloc([3, N], `${name}/stats`);
  const dlogp = tape.alloc(logp.shape, `${name}/dlogp`);
  launch(losses, dlogp, stats);
  if (logp.requiresGrad) tape.record(name, [logp], [], (tp) => tp.adopt(logp, dlogp), { terminal: true });
  return { losses, stats };
}

/**
 * RLOO's REINFORCE loss (Ahmadian et al. 2024; TRL's RLOOTrainer), the group kernel at ρ = 1 and β = 0: logp (N),
 * advantages (N) (each sequence's leave-one-out advantage, the KL penalty already in its reward), weights (N) (1/B on
 * response tokens: aggregationWeights(…, 'sequence_sum', …)) → losses (N) = −A·w; the gradient −A·w·gradScale on each token
 * is that of −A·Σₜ log π, the sequence's REINFORCE loss.
 */
export function rlooPolicyLoss(tape: Tape, logp: Var, advantages: Tensor, weights: Tensor, gradScale: number, name = 'rloo_policy_loss'): Tensor {
  return groupKernelLoss(tape, logp, name, (losses, dlogp, stats) => rlooLossForwardBackward(tape.step, logp.tensor, advantages, weights, losses, dlogp, stats, gradScale)).losses;
}

/**
 * PPO's clipped policy loss, the group kernel with ε_low = ε_high = clip and β = 0 (one surrogate kernel for every
 * method): logp (N) (from op.logprob), oldLogp (N), advantages (N), weights (N)
 * → losses (N) = w·max(−A·ρ, −A·clamp(ρ, 1±clip)), ρ = exp(logp − oldLogp), and clipped (2,N): the kernel's
 * clippedLow and clippedHigh rows, w where the clip was active on that side (a token is in at most one, so
 * policy/clipfrac = Σclipped/Σw). Both are tensors the tape owns (read them in the same step).
 */
export function ppoPolicyLoss(
  tape: Tape,
  logp: Var,
  oldLogp: Tensor,
  advantages: Tensor,
  weights: Tensor,
  clip: number,
  gradScale: number,
  name = 'ppo_policy_loss',
): { losses: Tensor; clipped: Tensor } {
  const { losses, stats } = groupPolicyLoss(tape, logp, oldLogp, undefined, advantages, weights, { epsLow: clip, epsHigh: clip, beta: 0 }, gradScale, name);
  return { losses, clipped: stats.view([2, logp.size], 0, `${name}/clipped`) };
}

/**
 * PPO's clipped value loss: values (N) or (B,T,1) (a value head), oldValues, returns, weights (N)
 * → losses (N) = w·½·max((v − R)², (vClip − R)²), vClip = oldV + clamp(v − oldV, ±clip), and clipped (N) = w where
 * the clipped term won (val/clipfrac = Σclipped/Σw).
 */
export function ppoValueLoss(
  tape: Tape,
  values: Var,
  oldValues: Tensor,
  returns: Tensor,
  weights: Tensor,
  clip: number,
  gradScale: number,
  name = 'ppo_value_loss',
): { losses: Tensor; clipped: Tensor } {
  const N = values.size;
  const losses = tape.alloc([N], `${name}/losses`);
  const clipped = tape.alloc([N], `${name}/clipped`);
  const dvalues = tape.alloc(values.shape, `${name}/dvalues`);
  ppoValueLossForwardBackward(tape.step, values.tensor, oldValues, returns, weights, losses, dvalues, clipped, clip, gradScale);
  if (values.requiresGrad) tape.record(name, [values], [], (tp) => tp.adopt(values, dvalues), { terminal: true });
  return { losses, clipped };
}

/**
 * The InstructGPT reward-model loss: scores (B,T,1) or (B,T) (a scalar head at every position), last (B) u32
 * (each sequence's final-token position), offsets (G+1) u32 (group g = rows offsets[g]..offsets[g+1]−1, best →
 * worst, K ≥ 2) → losses (G) = −1/C(K,2)·Σ_{i<j} log σ(r_i − r_j). Validate offsets and last with
 * validateRankingGroups (src/kernels/ranking-loss.ts) where they are built; gradScale = 1/G for the mean.
 */
export function rankingLoss(tape: Tape, scores: Var, last: Tensor<'u32'>, offsets: Tensor<'u32'>, gradScale: number, name = 'ranking_loss'): Tensor {
  const losses = tape.alloc([Math.max(offsets.size - 1, 0)], `${name}/losses`);
  const dscores = tape.alloc(scores.shape, `${name}/dscores`);
  rankingLossForwardBackward(tape.step, scores.tensor, last, offsets, losses, dscores, gradScale);
  if (scores.requiresGrad) tape.record(name, [scores], [], (tp) => tp.adopt(scores, dscores), { terminal: true });
  return losses;
}

/**
 * The direct preference losses (DPO, Rafailov et al. 2023; IPO, Azar et al. 2023) over the same K-way groups:
 * logp (B·T) (from op.logprob), refLogp (B·T) (the frozen reference policy's), weights (B,T) (the response mask,
 * PackedBatch.mask; its shape gives B), offsets (G+1) u32 (group g = rows offsets[g]..offsets[g+1]−1, best → worst,
 * 2 ≤ K ≤ PREFERENCE_MAX_K) → losses (G) = 1/C(K,2)·Σ_{i<j} ℓ(z_i − z_j) with z = Σ_t w·(logp − refLogp), and rewards (B)
 * = β·z, the implicit reward. Validate offsets with validatePreferenceGroups (src/kernels/preference-loss.ts) where they are
 * built; gradScale = 1/G for the mean.
 */
export function preferenceLoss(
  tape: Tape,
  logp: Var,
  refLogp: Tensor,
  weights: Tensor,
  offsets: Tensor<'u32'>,
  beta: number,
  loss: PreferenceLoss,
  gradScale: number,
  name = 'preference_loss',
): { losses: Tensor; rewards: Tensor } {
  if (weights.shape.length < 2) throw new Error(`${name}: weights must have shape (B,T), got [${weights.shape}]`);
  const losses = tape.alloc([Math.max(offsets.size - 1, 0)], `${name}/losses`);
  const rewards = tape.alloc([weights.shape[0]], `${name}/rewards`);
  const dlogp = tape.alloc(logp.shape, `${name}/dlogp`);
  preferenceLossForwardBackward(tape.step, logp.tensor, refLogp, weights, offsets, losses, rewards, dlogp, beta, loss, gradScale);
  if (logp.requiresGrad) tape.record(name, [logp], [], (tp) => tp.adopt(logp, dlogp), { terminal: true });
  return { losses, rewards };
}
