// layernorm_backward_weight: finishes the parameter gradients of layernorm from the per-chunk partials that
// layernorm_backward.wgsl wrote:  dweight[c] = Σ_k scratch[k,0,c],  dbias[c] = Σ_k scratch[k,1,c]
// (dweight += …, dbias += … when p.accumulate = 1, e.g. to add several micro-batches).
// Shapes: C channels, K row chunks (⌈N/32⌉). scratch (K,2,C); dweight, dbias (C).
// Parallel: one thread per output (2·C of them), 256 per workgroup; each sums its column over k in order
// (deterministic, no atomics), and neighbouring threads read neighbouring addresses.
struct Params { k: u32, c: u32, accumulate: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> scratch: array<f32>;         // (K,2,C)
@group(0) @binding(2) var<storage, read_write> dweight: array<f32>;   // (C)
@group(0) @binding(3) var<storage, read_write> dbias: array<f32>;     // (C)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let j = (wid.y * nwg.x + wid.x) * 256u + lid;   // 0..C: dweight, C..2C: dbias
  let stride = 2u * p.c;
  if (j >= stride) { return; }
  var s = 0.0;
  for (var k = 0u; k < p.k; k++) { s += scratch[k * stride + j]; }
  if (j < p.c) {
    if (p.accumulate == 1u) { dweight[j] += s; } else { dweight[j] = s; }
  } else {
    let c = j - p.c;
    if (p.accumulate == 1u) { dbias[c] += s; } else { dbias[c] = s; }
  }
}
