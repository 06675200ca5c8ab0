// reduce_sum: out[g] = scale · Σ_{i ∈ chunk g} f(inp[i]), chunk g = [g·CHUNK, min((g+1)·CHUNK, N)),
// f(x) = x, or x² when the override SQUARE is true (sums of squares for the gradient norm, grad_norm.wgsl).
// Used in two stages for large N (src/kernels/reduce.ts): stage 1 runs G workgroups, one partial per chunk into a
// scratch tensor; stage 2 runs this same kernel with one workgroup over the G partials into out[0]. Small N (one
// chunk) is a single dispatch with one workgroup.
// Shapes: inp (N), out (G) — G = ⌈N / CHUNK⌉ partials, or 1 for the final stage. Legend: N inputs, CHUNK = p.chunk
// elements per workgroup (a multiple of 256), G workgroups.
// Parallel: 256 threads per workgroup; thread t reads chunk elements t, t+256, t+512, … (coalesced, four loads in
// flight per iteration) and adds them in that order with Kahan compensation. The workgroup then adds its 256 sums
// in a fixed pairwise tree: 16 threads each add 16 sums as a 4-level binary tree in registers, then one thread adds
// those 16 the same way — the rounding of an 8-level binary tree with 2 barriers instead of 8 (CPU emulations such
// as SwiftShader pay dearly for barriers). The order of every addition depends only on N and CHUNK, so results are
// bitwise deterministic run to run, and the error is O((2·log₂ 256 + a few)·ε·Σ|x|) rather than the O(N·ε·Σ|x|)
// of one sequential loop.
struct Params { n: u32, chunk: u32, scale: f32 }

override SQUARE: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> inp: array<f32>;         // (N)
@group(0) @binding(2) var<storage, read_write> out: array<f32>;   // (G) one value per workgroup

const WG: u32 = 256u;
var<workgroup> sums: array<f32, WG>;    // one Kahan sum per thread
var<workgroup> sums16: array<f32, 16>;  // one 16-leaf tree per thread 0..15

fn term(i: u32) -> f32 {
  let x = inp[i];
  if (SQUARE) { return x * x; }
  return x;
}

// Kahan step: acc = (sum, c), c holding the low-order bits the sum lost, fed back into the next term.
fn kahan_add(acc: ptr<function, vec2f>, x: f32) {
  let y = x - (*acc).y;
  let t = (*acc).x + y;
  (*acc).y = (t - (*acc).x) - y;
  (*acc).x = t;
}

// Pairwise sum of 16 values, adding (k, k+8), then (k, k+4), (k, k+2), (k, k+1): a 4-level binary tree.
fn tree16(v_in: array<f32, 16>) -> f32 {
  var v = v_in;
  for (var w = 8u; w > 0u; w /= 2u) {
    for (var k = 0u; k < w; k++) { v[k] = v[k] + v[k + w]; }
  }
  return v[0];
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let start = wid.x * p.chunk;
  let end = min(start + p.chunk, p.n);
  var acc = vec2f(0.0);
  var i = start + lid;
  for (; i + 3u * WG < end; i += 4u * WG) {
    let x0 = term(i);
    let x1 = term(i + WG);
    let x2 = term(i + 2u * WG);
    let x3 = term(i + 3u * WG);
    kahan_add(&acc, x0);
    kahan_add(&acc, x1);
    kahan_add(&acc, x2);
    kahan_add(&acc, x3);
  }
  for (; i < end; i += WG) { kahan_add(&acc, term(i)); }
  sums[lid] = acc.x - acc.y;
  workgroupBarrier();
  if (lid < 16u) {
    // Thread t takes sums t, t+16, …, t+240: consecutive threads read consecutive words (no bank conflicts).
    var v: array<f32, 16>;
    for (var k = 0u; k < 16u; k++) { v[k] = sums[lid + 16u * k]; }
    sums16[lid] = tree16(v);
  }
  workgroupBarrier();
  if (lid == 0u) {
    var v: array<f32, 16>;
    for (var k = 0u; k < 16u; k++) { v[k] = sums16[k]; }
    out[wid.x] = p.scale * tree16(v);
  }
}
