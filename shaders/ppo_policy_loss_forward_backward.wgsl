// ppo_policy_loss_forward_backward: PPO's clipped surrogate (Schulman et al. 2017, as used for RLHF by Ziegler et
// al. 2019, InstructGPT = Ouyang et al. 2022, and TRL) per token, fused with its gradient:
//   ρ          = exp(logp − oldLogp)
//   losses[n]  = w·max(−A·ρ, −A·clamp(ρ, 1−ε, 1+ε))
//   dlogp[n]   = w·gradScale·(−A·ρ) when the unclipped term is ≥ the clipped one (ties go to it), else 0: the
//                clipped term only wins with ρ outside [1−ε, 1+ε], where clamp(ρ) is constant in logp
//   clipped[n] = w when the clipped term is strictly larger, else 0 (policy/clipfrac = Σ clipped / Σ w)
// w = weights[n] is the per-token loss mask (0 = prompt/padding, 1 = response; any finite w ≥ 0); gradScale the
// caller's normalisation (1/Σw for a masked mean). A row with w = 0 gets exactly 0 in all three outputs whatever
// its inputs hold (even NaN/Inf), so no Inf·0 can reach the gradient.
// Which term wins is decided from the signs, with no product that could overflow: ρ > 1+ε → clipped iff A > 0;
// ρ < 1−ε → clipped iff A < 0; otherwise the terms are equal (tie → unclipped). A = 0 gives 0 loss and gradient.
// Overflow: the unclipped loss w·|A|·ρ and gradient w·|gradScale·A|·ρ are formed by scaled_exp, exactly s·exp(d)
// while that is below e^88 ≈ 1.65e38 and saturating there (sign kept) beyond, so a ratio explosion (logp − oldLogp
// ≳ 88, or a huge A·ρ) gives a huge but finite loss and gradient, never Inf or NaN. The clipped branch's loss
// w·(−A)·(1±ε) is finite for any finite w·A, and its gradient is exactly 0.
// Shapes: N = B·T token positions. logp, old_logp, advantages, weights, losses, dlogp, clipped (N).
// Parallel: one thread per token, 256 threads per workgroup; the grid folds into (x, y) past 65535 workgroups.
struct Params { n: u32, clip: f32, grad_scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logp: array<f32>;            // (N) new policy log π(a_t|s_t)
@group(0) @binding(2) var<storage, read> old_logp: array<f32>;        // (N) rollout policy's log-probs
@group(0) @binding(3) var<storage, read> advantages: array<f32>;      // (N) A (whitened GAE)
@group(0) @binding(4) var<storage, read> weights: array<f32>;         // (N) loss mask w ≥ 0
@group(0) @binding(5) var<storage, read_write> losses: array<f32>;    // (N)
@group(0) @binding(6) var<storage, read_write> dlogp: array<f32>;     // (N)
@group(0) @binding(7) var<storage, read_write> clipped: array<f32>;   // (N)

const LOG_SATURATE: f32 = 88.0;   // e^88 ≈ 1.65e38 < the largest f32 ≈ 3.40e38 = e^88.72, with room for exp's error

// s·exp(d) for s ≥ 0 without overflow: exact formula below e^88, saturating at e^88 above.
fn scaled_exp(s: f32, d: f32) -> f32 {
  if (s == 0.0) { return 0.0; }
  if (d <= 0.0) { return s * exp(d); }   // ≤ s: cannot overflow
  let e = log(s) + d;                    // log of the result
  if (e >= LOG_SATURATE) { return exp(LOG_SATURATE); }
  if (d < LOG_SATURATE) { return s * exp(d); }   // exp(d) is finite and the product ≈ e^e < e^88
  return exp(e);                         // exp(d) alone would overflow but s is small enough
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n) { return; }
  let w = weights[i];
  if (w == 0.0) {
    losses[i] = 0.0;
    dlogp[i] = 0.0;
    clipped[i] = 0.0;
    return;
  }
  let a = advantages[i];
  let d = logp[i] - old_logp[i];
  let rho = exp(min(d, LOG_SATURATE));   // only compared with 1 ± ε, which saturation cannot change
  let lo = 1.0 - p.clip;
  let hi = 1.0 + p.clip;
  let clip_wins = (rho > hi && a > 0.0) || (rho < lo && a < 0.0);
  if (clip_wins) {
    losses[i] = -a * w * select(lo, hi, rho > hi);
    dlogp[i] = 0.0;   // ρ is outside [1−ε, 1+ε] here, where the clipped term does not depend on logp
    clipped[i] = w;
  } else {
    let neg_sign = -sign(a);             // −A·ρ = −sign(A)·|A|·ρ
    losses[i] = neg_sign * scaled_exp(w * abs(a), d);
    dlogp[i] = neg_sign * sign(p.grad_scale) * scaled_exp(w * abs(a * p.grad_scale), d);
    clipped[i] = 0.0;
  }
}
