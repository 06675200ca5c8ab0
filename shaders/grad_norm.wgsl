// grad_norm: the global L2 gradient norm and the clip factor that AdamW reads, with no CPU round trip:
//   norm = √(Σ_g partial[g]),  clip[0] = norm,
//   clip[1] = min(1, max_norm / (norm + 1e-6))  (PyTorch's clip_grad_norm_), or 1 when max_norm ≤ 0 (no clipping).
// This is the final stage: the partial sums of squares come from reduce_sum.wgsl with SQUARE = true (one per
// chunk of the gradient; see src/kernels/gradnorm.ts).
// Shapes: partial (G) partial sums of g², clip (2). Legend: G partials (≤ 4096).
// Parallel: one workgroup of 256 threads; thread t adds partials t, t+256, … with Kahan compensation, then a fixed
// pairwise tree in workgroup memory (deterministic, the same scheme as reduce_sum).
struct Params { n: u32, max_norm: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;     // (G)
@group(0) @binding(2) var<storage, read_write> clip: array<f32>;  // (2) [norm, clip scale]

const WG: u32 = 256u;
var<workgroup> acc: array<f32, WG>;

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
  acc[lid] = s - c;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { acc[lid] += acc[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let norm = sqrt(acc[0]);
    var scale = 1.0;
    if (p.max_norm > 0.0) { scale = min(1.0, p.max_norm / (norm + 1e-6)); }
    clip[0] = norm;
    clip[1] = scale;
  }
}
