// ppo_value_loss_forward_backward: PPO's clipped value loss (as in OpenAI baselines, "The N Implementation Details
// of RLHF with PPO" (Huang et al.) and TRL) per token, fused with its gradient:
//   v_clip     = oldV + clamp(v − oldV, −ε, ε)
//   losses[n]  = w·½·max((v − R)², (v_clip − R)²)
//   dvalues[n] = w·gradScale·(v − R) when the unclipped term is ≥ the clipped one (ties go to it), else
//                w·gradScale·(v_clip − R)·[|v − oldV| < ε] (0: the clipped term only wins when v_clip ≠ v)
//   clipped[n] = w when the clipped term is strictly larger, else 0 (val/clipfrac = Σ clipped / Σ w)
// w = weights[n] is the per-token loss mask (any finite w ≥ 0); gradScale the caller's normalisation (1/Σw for a
// masked mean). A row with w = 0 gets exactly 0 in all three outputs whatever its inputs hold.
// Inside the clip range v_clip is v itself rather than oldV + (v − oldV), whose f32 rounding could differ from v
// by an ulp and count a spurious clip. The terms are compared as |v − R| vs |v_clip − R| (no squaring overflow).
// Shapes: N = B·T token positions. values, old_values, returns, weights, losses, dvalues, clipped (N).
// Parallel: one thread per token, 256 threads per workgroup; the grid folds into (x, y) past 65535 workgroups.
struct Params { n: u32, clip: f32, grad_scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> values: array<f32>;          // (N) new value predictions v
@group(0) @binding(2) var<storage, read> old_values: array<f32>;      // (N) rollout values oldV
@group(0) @binding(3) var<storage, read> returns: array<f32>;         // (N) R = advantages + oldV
@group(0) @binding(4) var<storage, read> weights: array<f32>;         // (N) loss mask w ≥ 0
@group(0) @binding(5) var<storage, read_write> losses: array<f32>;    // (N)
@group(0) @binding(6) var<storage, read_write> dvalues: array<f32>;   // (N)
@group(0) @binding(7) var<storage, read_write> clipped: array<f32>;   // (N)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n) { return; }
  let w = weights[i];
  if (w == 0.0) {
    losses[i] = 0.0;
    dvalues[i] = 0.0;
    clipped[i] = 0.0;
    return;
  }
  let v = values[i];
  let r = returns[i];
  let delta = v - old_values[i];
  let inside = abs(delta) <= p.clip;
  let v_clip = select(old_values[i] + sign(delta) * p.clip, v, inside);
  let u = v - r;
  let c = v_clip - r;
  if (abs(u) >= abs(c)) {
    losses[i] = w * 0.5 * u * u;
    dvalues[i] = w * p.grad_scale * u;
    clipped[i] = 0.0;
  } else {
    losses[i] = w * 0.5 * c * c;
    dvalues[i] = select(0.0, w * p.grad_scale * c, abs(delta) < p.clip);
    clipped[i] = w;
  }
}
