// crossentropy_forward_backward: softmax cross-entropy fused with its gradient, one pass over each row.
//   losses[n]    = w[n]·(logsumexp(logits[n,:]) − logits[n, targets[n]])
//   dlogits[n,i] = w[n]·gradScale·(softmax(logits[n,:])[i] − [i = targets[n]])
// w is a per-row weight (0 = ignored, e.g. a prompt token in SFT: its loss and whole gradient row are exactly 0);
// gradScale is the caller's normalisation (e.g. 1/Σw). A target ≥ V in a row with w ≠ 0 gives NaN loss and
// gradient, so a bad target cannot train silently.
// Stable for any logits: exponents are taken relative to the row maximum, and the loss is computed as
// (max − logit[target]) + log Σ exp(logit − max), with no cancellation against a large logsumexp.
// Shapes: N = B·T rows, V vocabulary (any V ≥ 1). logits, dlogits (N,V); targets, weights, losses (N).
// Parallel: WG threads per workgroup = WG/TPR rows × TPR threads (src/kernels/rows.ts picks the variant):
//   tree   (GPUs: WG = TPR = 256, one row per workgroup) each thread keeps an online (max, Σexp) over its strided
//          columns (coalesced reads), the pairs are merged by a fixed-order tree in workgroup memory;
//   serial (CPU-emulated adapters: TPR 1) each thread walks its own row in order: no workgroup memory and no
//          barriers, which such adapters pay for with a coroutine switch per thread.
// Then a second sweep writes the gradient. WG and TPR are powers of two. The grid folds into (x, y) past 65535
// workgroups.
struct Params { n: u32, v: u32, grad_scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;          // (N,V)
@group(0) @binding(2) var<storage, read> targets: array<u32>;         // (N)
@group(0) @binding(3) var<storage, read> weights: array<f32>;         // (N)
@group(0) @binding(4) var<storage, read_write> losses: array<f32>;    // (N)
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;   // (N,V)

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
  // Rows past N and ignored rows (w = 0) skip the first sweep but still take part in the merge's barriers.
  var w = 0.0;
  if (row < p.n) { w = weights[row]; }

  // Online max and Σexp(x − max) over this thread's columns.
  var m = LOWEST;
  var s = 0.0;
  if (w != 0.0) {
    for (var i = lane; i < V; i += TPR) {
      let x = logits[base + i];
      if (x > m) {
        s = s * exp(m - x) + 1.0;
        m = x;
      } else {
        s += exp(x - m);
      }
    }
  }
  let merged = row_merge(lid, m, s);
  if (row >= p.n) { return; }
  if (w == 0.0) {
    for (var i = lane; i < V; i += TPR) { dlogits[base + i] = 0.0; }
    if (lane == 0u) { losses[row] = 0.0; }
    return;
  }
  let row_max = merged.x;
  let sum = merged.y;   // ≥ 1: the maximum contributes exp(0)

  let t = targets[row];
  if (t >= V) {
    var nan_bits = 0x7fc00000u;   // a runtime var: a constant NaN is a WGSL compile error
    let nan = bitcast<f32>(nan_bits);
    for (var i = lane; i < V; i += TPR) { dlogits[base + i] = nan; }
    if (lane == 0u) { losses[row] = nan; }
    return;
  }
  if (lane == 0u) { losses[row] = w * ((row_max - logits[base + t]) + log(sum)); }

  let scale = w * p.grad_scale;
  let inv_sum = 1.0 / sum;
  for (var i = lane; i < V; i += TPR) {
    let prob = exp(logits[base + i] - row_max) * inv_sum;
    dlogits[base + i] = scale * (prob - select(0.0, 1.0, i == t));
  }
}
