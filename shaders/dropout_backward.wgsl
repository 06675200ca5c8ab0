// dropout_backward: dinp[i] = keep(i) ? dout[i]·scale : 0 (dinp += … when p.accumulate = 1), with keep(i) the
// same mask dropout_forward.wgsl drew, regenerated from (seed, step, site, i) rather than stored:
//   key = pcg(pcg(pcg(seed) ^ step) ^ site),  keep(i) = pcg(pcg(i ^ key) + key) ≥ threshold,  scale = 1/(1−p).
// Shapes: dout (N), dinp (N); any N < 2³².
// Parallel: one thread per element, 256 threads per workgroup; the grid folds into (x, y) past 65535 workgroups.
struct Params { n: u32, threshold: u32, seed: u32, step: u32, site: u32, accumulate: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dout: array<f32>;         // (N)
@group(0) @binding(2) var<storage, read_write> dinp: array<f32>;   // (N)

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
  let g = select(0.0, dout[i] * p.scale, h >= p.threshold);
  if (p.accumulate == 1u) { dinp[i] += g; } else { dinp[i] = g; }
}
