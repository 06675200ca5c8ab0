// residual_forward: out = a + b — the residual connection x + f(x) of a transformer block.
// Shapes: a (N), b (N), out (N); any N (for activations N = B·T·C).
// Parallel: one thread per element, 256 threads per workgroup; the grid folds into (x, y) past 65535 workgroups.
struct Params { n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;           // (N)
@group(0) @binding(2) var<storage, read> b: array<f32>;           // (N)
@group(0) @binding(3) var<storage, read_write> out: array<f32>;   // (N)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n) { return; }
  out[i] = a[i] + b[i];
}
