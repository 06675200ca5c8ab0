// dropout_forward: out[i] = keep(i) ? inp[i]·scale : 0, scale = 1/(1−p) (inverted dropout: the expected value of
// out equals inp, so evaluation needs no rescaling).
// keep(i) = hash(seed, step, site, i) ≥ threshold, threshold = ⌊p·2³²⌋ (an exact integer compare, so the CPU
// reference reproduces the mask bit for bit). The hash is counter-based — PCG's output permutation (Jarzynski &
// Olano, "Hash Functions for GPU Rendering", 2020) chained over the keys:
//   key = pcg(pcg(pcg(seed) ^ step) ^ site),  hash = pcg(pcg(i ^ key) + key)
// so the mask is a pure function of (seed, step, site, i): dropout_backward.wgsl regenerates it instead of storing
// it. `step` numbers the forward pass and `site` the dropout layer within it; the two rounds over i keep masks of
// different keys from being shifted copies of each other.
// Shapes: inp (N), out (N); any N < 2³².
// Parallel: one thread per element, 256 threads per workgroup; the grid folds into (x, y) past 65535 workgroups.
struct Params { n: u32, threshold: u32, seed: u32, step: u32, site: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> inp: array<f32>;         // (N)
@group(0) @binding(2) var<storage, read_write> out: array<f32>;   // (N)

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n) { return; }
  let key = pcg(pcg(pcg(p.seed) ^ p.step) ^ p.site);
  let h = pcg(pcg(i ^ key) + key);
  out[i] = select(0.0, inp[i] * p.scale, h >= p.threshold);
}
