// reduce_sum: out[g] = scale · Σ_{i ∈ chunk g} f(inp[i]), chunk g = [g·CHUNK, min((g+1)·CHUNK, N)),
// f(x) = x, or x² when the override SQUARE is true (sums of squares for the gradient norm, grad_norm.wgsl).
// Used in two stages for large N (src/kernels/reduce.ts): stage 1 runs G workgroups, one partial per chunk into a
// scratch tensor; stage 2 runs this same kernel with one workgroup over the G partials into out[0]. Small N (one
// chunk) is a single dispatch with one workgroup.
// Shapes: inp (N), out (G) — G = ⌈N / CHUNK⌉ partials, or 1 for the final stage. Legend: N inputs, CHUNK = p.chunk
// elements per workgroup (a multiple of 256), G workgroups.
// Parallel: 256 threads per workgroup; thread t reads chunk elements t, t+256, t+512, … (coalesced) and sums them
// with Kahan compensation; the workgroup then adds its 256 sums in a fixed pairwise tree in workgroup memory.
// The order of every addition depends only on N and CHUNK, so results are bitwise deterministic run to run, and
// the error is O((log₂ 256 + log₂ G + a few)·ε·Σ|x|) rather than the O(N·ε·Σ|x|) of one sequential loop.
struct Params { n: u32, chunk: u32, scale: f32 }

override SQUARE: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> inp: array<f32>;         // (N)
@group(0) @binding(2) var<storage, read_write> out: array<f32>;   // (G) one value per workgroup

const WG: u32 = 256u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let start = wid.x * p.chunk;
  let end = min(start + p.chunk, p.n);
  // Kahan: c holds the low-order bits the running sum s lost, fed back into the next term.
  var s = 0.0;
  var c = 0.0;
  for (var i = start + lid; i < end; i += WG) {
    var x = inp[i];
    if (SQUARE) { x = x * x; }
    let y = x - c;
    let t = s + y;
    c = (t - s) - y;
    s = t;
  }
  partial[lid] = s - c;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[wid.x] = p.scale * partial[0]; }
}
