// fill_constant: out[i] = value for every i < N — zeroes gradient arenas and optimizer state on the GPU, so a
// step needs no CPU upload to reset them.
// Shapes: out (N); any N.
// Parallel: one thread per element, 256 threads per workgroup; the grid folds into (x, y) past 65535 workgroups.
struct Params { n: u32, value: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;   // (N)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n) { return; }
  out[i] = p.value;
}
