// gelu_backward: dinp = dout · d/dx gelu(x), with gelu in GPT-2's tanh form:
//   d/dx = 0.5·(1 + tanh u) + 0.5·x·(1 − tanh² u)·√(2/π)·(1 + 3·0.044715·x²),  u = √(2/π)·(x + 0.044715·x³).
// Accumulates (dinp += …) when p.accumulate = 1, so gradients from several uses of x can share a buffer.
// Shapes: inp (N), dout (N), dinp (N); any N.
// Parallel: one thread per element, 256 threads per workgroup; the grid folds into (x, y) past 65535 workgroups.
struct Params { n: u32, accumulate: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> inp: array<f32>;          // (N) the forward input x
@group(0) @binding(2) var<storage, read> dout: array<f32>;         // (N)
@group(0) @binding(3) var<storage, read_write> dinp: array<f32>;   // (N)

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n) { return; }
  let x = inp[i];
  // With s = σ(2u): 0.5·(1 + tanh u) = s and 0.5·(1 − tanh² u) = 2·s·(1 − s), free of cancellation.
  let u = clamp(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x), -40.0, 40.0);
  let s = 1.0 / (1.0 + exp(-2.0 * u));
  let local_grad = s + 2.0 * x * s * (1.0 - s) * SQRT_2_OVER_PI * (1.0 + 0.134145 * x * x);
  let g = dout[i] * local_grad;
  if (p.accumulate == 1u) { dinp[i] += g; } else { dinp[i] = g; }
}
