// grpo_loss_forward_backward: GRPO's group-relative policy loss (Shao et al. 2024, DeepSeekMath) with DAPO's
// asymmetric "clip-higher" range (Yu et al. 2025) and a k3 KL penalty to the reference policy (Schulman 2020), as
// in TRL's GRPOTrainer, per token, fused with its gradient:
//   ρ             = exp(logp − oldLogp),   e = refLogp − logp
//   surrogate     = max(−A·ρ, −A·clamp(ρ, 1−ε_low, 1+ε_high))          (= −min(ρ·A, clamp(ρ)·A))
//   k3            = exp(e) − e − 1 ≥ 0                                   (an estimate of KL(π ‖ π_ref))
//   losses[n]     = w·(surrogate + β·k3)
//   dlogp[n]      = w·gradScale·(dsurrogate + β·(1 − exp(e))),  dsurrogate = −A·ρ when the unclipped term is ≥ the
//                   clipped one (ties go to it), else 0: the clipped term only wins with ρ outside [1−ε_low, 1+ε_high],
//                   where clamp(ρ) is constant in logp
//   stats[n]      = w where the low side clipped:  ρ < 1−ε_low and A < 0    (TRL clip_ratio/low_mean = Σ/Σw)
//   stats[N + n]  = w where the high side clipped: ρ > 1+ε_high and A > 0   (TRL clip_ratio/high_mean)
//   stats[2N + n] = w·k3, or 0 when β = 0                                   (TRL kl)
// w = weights[n] ≥ 0 carries the loss aggregation (src/rlhf/loss-aggregation.ts: the objective is Σ losses), and
// gradScale multiplies the gradient only. A row with w = 0 gets exactly 0 in all five outputs whatever its inputs
// hold (even NaN/Inf), so no Inf·0 can reach the gradient. With β = 0 the KL term is skipped and ref_logp is never
// read. The three per-token statistics share one (3,N) output so that the kernel binds 8 storage buffers, the
// most every WebGPU device allows (maxStorageBuffersPerShaderStage ≥ 8).
// Which surrogate term wins is decided from the signs, with no product that could overflow: ρ > 1+ε_high → clipped
// iff A > 0; ρ < 1−ε_low → clipped iff A < 0; otherwise the terms are equal (tie → unclipped). At ε_low = ε_high = ε
// and β = 0 this is PPO's clipped surrogate (op.ppoPolicyLoss): the one surrogate kernel of every method, bit for bit
// the retired ppo_policy_loss_forward_backward.wgsl (checked against it before it was removed).
// Overflow: every term that grows like exp is formed by scaled_exp, exactly s·exp(d) while that is below
// e^88 ≈ 1.65e38 and saturating there beyond: the surrogate's w·|A|·ρ and its gradient (a ratio explosion), and
// k3's exp(e) in the loss, the kl statistic and the gradient (logp ≪ refLogp). Each output is then at most two
// such terms, < 2·e^88 ≈ 3.3e38 < the largest f32 ≈ 3.40e38: huge but finite, never Inf or NaN.
// k3 accuracy: for |e| ≤ 1 a Taylor series (no cancellation; exp(e) − e − 1 would lose everything for e → 0), and
// 1 − exp(e) = −(e + k3) reuses it; above 1 the direct formula cancels at most a factor exp(1)/(exp(1) − 2) ≈ 3.8.
// Shapes: N = B·T token positions. logp, old_logp, ref_logp, advantages, weights, losses, dlogp (N); stats (3,N).
// Parallel: one thread per token, 256 threads per workgroup; the grid folds into (x, y) past 65535 workgroups.
struct Params { n: u32, eps_low: f32, eps_high: f32, beta: f32, grad_scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logp: array<f32>;            // (N) new policy log π(a_t|s_t)
@group(0) @binding(2) var<storage, read> old_logp: array<f32>;        // (N) rollout policy's log-probs
@group(0) @binding(3) var<storage, read> ref_logp: array<f32>;        // (N) reference policy's log-probs (unread at β = 0)
@group(0) @binding(4) var<storage, read> advantages: array<f32>;      // (N) the sequence's advantage on each of its tokens
@group(0) @binding(5) var<storage, read> weights: array<f32>;         // (N) aggregation weight w ≥ 0
@group(0) @binding(6) var<storage, read_write> losses: array<f32>;    // (N)
@group(0) @binding(7) var<storage, read_write> dlogp: array<f32>;     // (N)
@group(0) @binding(8) var<storage, read_write> stats: array<f32>;     // (3,N) clipped low, clipped high, kl

const LOG_SATURATE: f32 = 88.0;   // e^88 ≈ 1.65e38 < the largest f32 ≈ 3.40e38 = e^88.72, with room for exp's error
const SERIES_MAX: f32 = 1.0;      // |e| ≤ 1: k3 by its Taylor series

// s·exp(d) for s ≥ 0 without overflow: exact formula below e^88, saturating at e^88 above.
fn scaled_exp(s: f32, d: f32) -> f32 {
  if (s == 0.0) { return 0.0; }
  if (d <= 0.0) { return s * exp(d); }   // ≤ s: cannot overflow
  let e = log(s) + d;                    // log of the result
  if (e >= LOG_SATURATE) { return exp(LOG_SATURATE); }
  if (d < LOG_SATURATE) { return s * exp(d); }   // exp(d) is finite and the product ≈ e^e < e^88
  return exp(e);                         // exp(d) alone would overflow but s is small enough
}

// k3 = exp(e) − e − 1 for e ≤ 1. On [−1, 1]: Σ_{k=2..12} e^k/k! = (e²/2)·(1 + (e/3)·(1 + (e/4)·(… (1 + e/12)))),
// evaluated inside out; the first term left out, e^13/13!, is < 5e-10 of k3 there. Below −1 the direct formula
// adds two positive terms (−e − 1 is exact for e ∈ [−2, −1] and rounds once beyond).
fn k3_below_one(e: f32) -> f32 {
  if (e < -SERIES_MAX) { return exp(e) + (-e - 1.0); }
  var q = 1.0;
  for (var k = 12.0; k >= 3.0; k -= 1.0) { q = 1.0 + e * q / k; }
  return 0.5 * e * e * q;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  let n = p.n;
  if (i >= n) { return; }
  let w = weights[i];
  if (w == 0.0) {
    losses[i] = 0.0;
    dlogp[i] = 0.0;
    stats[i] = 0.0;
    stats[n + i] = 0.0;
    stats[2u * n + i] = 0.0;
    return;
  }
  let a = advantages[i];
  let lp = logp[i];
  let d = lp - old_logp[i];
  let rho = exp(min(d, LOG_SATURATE));   // only compared with 1 − ε_low and 1 + ε_high, which saturation cannot change
  let lo = 1.0 - p.eps_low;
  let hi = 1.0 + p.eps_high;
  let low_clipped = rho < lo && a < 0.0;
  let high_clipped = rho > hi && a > 0.0;
  var loss: f32;
  var grad: f32;
  if (low_clipped || high_clipped) {
    loss = -a * w * select(lo, hi, high_clipped);
    grad = 0.0;   // ρ is outside [1−ε_low, 1+ε_high] here, where the clipped term does not depend on logp
  } else {
    let neg_sign = -sign(a);             // −A·ρ = −sign(A)·|A|·ρ
    loss = neg_sign * scaled_exp(w * abs(a), d);
    grad = neg_sign * sign(p.grad_scale) * scaled_exp(w * abs(a * p.grad_scale), d);
  }
  var kl = 0.0;
  if (p.beta != 0.0) {
    let e = ref_logp[i] - lp;
    let wb = w * p.beta;
    let wbg = wb * p.grad_scale;
    if (e <= SERIES_MAX) {
      let k3 = k3_below_one(e);
      kl = w * k3;
      loss += wb * k3;
      grad -= wbg * (e + k3);            // 1 − exp(e) = −(e + k3), bounded by 1 in magnitude here
    } else {
      // s·k3 = s·exp(e) − s·(e + 1) and s·(1 − exp(e)) with exp(e) only inside scaled_exp.
      kl = scaled_exp(w, e) - w * (e + 1.0);
      loss += scaled_exp(wb, e) - wb * (e + 1.0);
      grad += sign(p.grad_scale) * (abs(wbg) - scaled_exp(abs(wbg), e));
    }
  }
  losses[i] = loss;
  dlogp[i] = grad;
  stats[i] = select(0.0, w, low_clipped);
  stats[n + i] = select(0.0, w, high_clipped);
  stats[2u * n + i] = kl;
}
