// grad_norm: the global L2 gradient norm and the clip factor that AdamW reads, with no CPU round trip:
//   norm = √(Σ_g partial[g]),  clip[0] = norm,
//   clip[1] = min(1, max_norm / (norm + 1e-6))  (PyTorch's clip_grad_norm_), or 1 when max_norm ≤ 0 (no clipping).
// This is the final stage: the partial sums of squares come from reduce_sum.wgsl with SQUARE = true (one per
// chunk of the gradient; see src/kernels/gradnorm.ts).
// Shapes: partial (G) partial sums of g², clip (2). Legend: G partials.
// Parallel: one workgroup of 256 threads; thread t adds partials t, t+256, … with Kahan compensation, then the
// same fixed pairwise tree as reduce_sum.wgsl (16 threads × 16 sums, then 16), so the result is deterministic.
struct Params { n: u32, max_norm: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;     // (G)
@group(0) @binding(2) var<storage, read_write> clip: array<f32>;  // (2) [norm, clip scale]

const WG: u32 = 256u;
var<workgroup> sums: array<f32, WG>;
var<workgroup> sums16: array<f32, 16>;

// Pairwise sum of 16 values, adding (k, k+8), then (k, k+4), (k, k+2), (k, k+1): a 4-level binary tree.
fn tree16(v_in: array<f32, 16>) -> f32 {
  var v = v_in;
  for (var w = 8u; w > 0u; w /= 2u) {
    for (var k = 0u; k < w; k++) { v[k] = v[k] + v[k + w]; }
  }
  return v[0];
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  var c = 0.0;
  for (var i = lid; i < p.n; i += WG) {
    let y = partial[i] - c;
    let t = s + y;
    c = (t - s) - y;
    s = t;
  }
  sums[lid] = s - c;
  workgroupBarrier();
  if (lid < 16u) {
    var v: array<f32, 16>;
    for (var k = 0u; k < 16u; k++) { v[k] = sums[lid + 16u * k]; }
    sums16[lid] = tree16(v);
  }
  workgroupBarrier();
  if (lid == 0u) {
    var v: array<f32, 16>;
    for (var k = 0u; k < 16u; k++) { v[k] = sums16[k]; }
    let norm = sqrt(tree16(v));
    var scale = 1.0;
    if (p.max_norm > 0.0) { scale = min(1.0, p.max_norm / (norm + 1e-6)); }
    clip[0] = norm;
    clip[1] = scale;
  }
}
