// logprob_forward: per-token log-probability under temperature τ, for PPO ratios and KL penalties.
//   z = logits[n,:]/τ,  logprobs[n] = z[tokens[n]] − logsumexp(z) = (z[token] − max z) − log Σ exp(z − max z)
// Also saves stats[n] = (max z, log Σ exp(z − max z)) so logprob_backward needs no second reduction; keeping the
// two parts apart keeps softmax accurate in the backward even when |max z| ~ 1e4 (their f32 sum would not be).
// A token ≥ V gives a NaN log-probability (and stats), so a bad id cannot train silently.
// Shapes: N = B·T rows, V vocabulary (any V ≥ 1). logits (N,V); tokens, logprobs (N); stats (N,2).
// Parallel: WG threads per workgroup = WG/TPR rows × TPR threads (src/kernels/rows.ts picks the variant):
//   tree   (GPUs: WG = TPR = 256, one row per workgroup) each thread keeps an online (max, Σexp) over its strided
//          columns (coalesced reads); the pairs are merged by a fixed-order tree in workgroup memory;
//   serial (CPU-emulated adapters: TPR 1) each thread walks its own row in order: no workgroup memory and no
//          barriers, which such adapters pay for with a coroutine switch per thread.
// WG and TPR are powers of two. The grid folds into (x, y) past 65535 workgroups.
struct Params { n: u32, v: u32, temperature: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;          // (N,V)
@group(0) @binding(2) var<storage, read> tokens: array<u32>;          // (N)
@group(0) @binding(3) var<storage, read_write> logprobs: array<f32>;  // (N)
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;     // (N,2)

override WG: u32 = 256u;    // threads per workgroup
override TPR: u32 = 256u;   // threads per row, dividing WG; 1 = serial
const LOWEST: f32 = -0x1.fffffep+127f;   // the most negative finite f32

//! include row_merge

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let row = (wid.y * nwg.x + wid.x) * (WG / TPR) + lid / TPR;
  let lane = lid % TPR;
  let V = p.v;
  let base = row * V;
  let inv_t = 1.0 / p.temperature;

  // Threads past the last row still take part in the merge's barriers; they read nothing.
  var m = LOWEST;
  var s = 0.0;
  if (row < p.n) {
    for (var i = lane; i < V; i += TPR) {
      let z = logits[base + i] * inv_t;
      if (z > m) {
        s = s * exp(m - z) + 1.0;
        m = z;
      } else {
        s += exp(z - m);
      }
    }
  }
  let merged = row_merge(lid, m, s);
  if (row >= p.n || lane != 0u) { return; }
  let row_max = merged.x;
  let log_sum = log(merged.y);
  let t = tokens[row];
  if (t >= V) {
    var nan_bits = 0x7fc00000u;   // a runtime var: a constant NaN is a WGSL compile error
    let nan = bitcast<f32>(nan_bits);
    logprobs[row] = nan;
    stats[2u * row] = nan;
    stats[2u * row + 1u] = nan;
    return;
  }
  logprobs[row] = (logits[base + t] * inv_t - row_max) - log_sum;
  stats[2u * row] = row_max;
  stats[2u * row + 1u] = log_sum;
}
