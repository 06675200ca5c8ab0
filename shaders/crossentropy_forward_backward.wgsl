// crossentropy_forward_backward: softmax cross-entropy fused with its gradient, one pass over each row.
//   losses[n]    = w[n]·(logsumexp(logits[n,:]) − logits[n, targets[n]])
//   dlogits[n,i] = w[n]·gradScale·(softmax(logits[n,:])[i] − [i = targets[n]])
// w is a per-row weight (0 = ignored, e.g. a prompt token in SFT: its loss and whole gradient row are exactly 0);
// gradScale is the caller's normalisation (e.g. 1/Σw). A target ≥ V in a row with w ≠ 0 gives NaN loss and
// gradient, so a bad target cannot train silently.
// Stable for any logits: exponents are taken relative to the row maximum, and the loss is computed as
// (max − logit[target]) + log Σ exp(logit − max), with no cancellation against a large logsumexp.
// Shapes: N = B·T rows, V vocabulary (any V ≥ 1). logits, dlogits (N,V); targets, weights, losses (N).
// Parallel: one workgroup of 256 threads per row. Each thread keeps an online (max, Σexp) over its strided
// columns (coalesced reads), the pairs are merged by a fixed-order tree in workgroup memory, then a second
// sweep writes the gradient. The grid folds into (x, y) past 65535 rows.
struct Params { n: u32, v: u32, grad_scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;          // (N,V)
@group(0) @binding(2) var<storage, read> targets: array<u32>;         // (N)
@group(0) @binding(3) var<storage, read> weights: array<f32>;         // (N)
@group(0) @binding(4) var<storage, read_write> losses: array<f32>;    // (N)
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;   // (N,V)

const WG: u32 = 256u;
const LOWEST: f32 = -0x1.fffffep+127f;   // the most negative finite f32

var<workgroup> red_m: array<f32, WG>;
var<workgroup> red_s: array<f32, WG>;
var<workgroup> row_weight: f32;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= p.n) { return; }   // uniform: the same for the whole workgroup
  let V = p.v;
  let base = row * V;

  // Ignored rows skip both sweeps; workgroupUniformLoad makes the branch provably uniform.
  if (lid == 0u) { row_weight = weights[row]; }
  let w = workgroupUniformLoad(&row_weight);
  if (w == 0.0) {
    for (var i = lid; i < V; i += WG) { dlogits[base + i] = 0.0; }
    if (lid == 0u) { losses[row] = 0.0; }
    return;
  }

  // Online max and Σexp(x − max) over this thread's columns.
  var m = LOWEST;
  var s = 0.0;
  for (var i = lid; i < V; i += WG) {
    let x = logits[base + i];
    if (x > m) {
      s = s * exp(m - x) + 1.0;
      m = x;
    } else {
      s += exp(x - m);
    }
  }
  red_m[lid] = m;
  red_s[lid] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) {
      let m1 = red_m[lid];
      let m2 = red_m[lid + k];
      let mx = max(m1, m2);
      red_s[lid] = red_s[lid] * exp(m1 - mx) + red_s[lid + k] * exp(m2 - mx);
      red_m[lid] = mx;
    }
    workgroupBarrier();
  }
  let row_max = red_m[0];
  let sum = red_s[0];   // ≥ 1: the maximum contributes exp(0)

  let t = targets[row];
  if (t >= V) {
    var nan_bits = 0x7fc00000u;   // a runtime var: a constant NaN is a WGSL compile error
    let nan = bitcast<f32>(nan_bits);
    for (var i = lid; i < V; i += WG) { dlogits[base + i] = nan; }
    if (lid == 0u) { losses[row] = nan; }
    return;
  }
  if (lid == 0u) { losses[row] = w * ((row_max - logits[base + t]) + log(sum)); }

  let scale = w * p.grad_scale;
  let inv_sum = 1.0 / sum;
  for (var i = lid; i < V; i += WG) {
    let prob = exp(logits[base + i] - row_max) * inv_sum;
    dlogits[base + i] = scale * (prob - select(0.0, 1.0, i == t));
  }
}
