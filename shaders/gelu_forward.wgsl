// gelu_forward: out = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))  — GPT-2's tanh approximation.
// Shapes: inp (N), out (N); any N.
// Parallel: one thread per element, 256 threads per workgroup; the grid folds into (x, y) past 65535 workgroups.
struct Params { n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> inp: array<f32>;         // (N)
@group(0) @binding(2) var<storage, read_write> out: array<f32>;   // (N)

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n) { return; }
  let x = inp[i];
  // 0.5·(1 + tanh u) = σ(2u): the sigmoid form avoids the cancellation in 1 + tanh u for negative x, and the
  // clamp keeps exp finite (σ is exactly 0 or 1 in f32 well before |u| = 40; e^80 is still finite in f32).
  let u = clamp(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x), -40.0, 40.0);
  out[i] = x / (1.0 + exp(-2.0 * u));
}
