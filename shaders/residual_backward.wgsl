// residual_backward: dst = dst + scale·src (p.accumulate = 1) or dst = scale·src (p.accumulate = 0).
// For out = a + b the gradient passes unchanged to both branches (da += dout, db += dout); the two branches are
// symmetric, so this one kernel serves both: dispatch it once per branch that needs its own gradient buffer
// (src = dout, dst = da, then dst = db). `scale` (default 1) lets a caller fold in a constant factor.
// src and dst must be different buffers (WebGPU forbids binding one buffer as read and read_write at once).
// Shapes: src (N), dst (N); any N.
// Parallel: one thread per element, 256 threads per workgroup; the grid folds into (x, y) past 65535 workgroups.
struct Params { n: u32, accumulate: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;         // (N) the upstream gradient dout
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;   // (N) a branch's gradient, da or db

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n) { return; }
  let g = p.scale * src[i];
  if (p.accumulate == 1u) { dst[i] += g; } else { dst[i] = g; }
}
