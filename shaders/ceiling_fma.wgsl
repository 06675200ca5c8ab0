// ceiling_fma: the adapter's arithmetic ceiling. Every thread runs p.iters rounds of 32 vec4 multiply-adds,
// acc_j ← acc_j·a + b, spread over 8 independent accumulators (4 updates each per round), and writes the sum of
// its accumulators so no arithmetic is dead. FLOPs = N · iters · 32 vec4 · 4 lanes · 2.
// Written as a*b+c, not fma(): SwiftShader runs fma() slower (4.3 vs 6.9 GFLOP/s); GPUs contract a*b+c anyway.
// Shapes: out (N), N = threads; a, b: uniform scalars (runtime values, so nothing folds at compile time).
// acc_j starts at (i·2⁻¹⁶ + j + lane/4) so each thread's values differ; with |a| < 1 the recurrence is
// contractive, so values stay finite and rounding does not grow with iters.
// Parallel: one thread per output, 64 threads per workgroup; the grid folds into (x, y) past 65535 workgroups.
struct Params { n: u32, iters: u32, a: f32, b: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;   // (N)

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.y * nwg.x + wid.x) * 64u + lid;
  if (i >= p.n) { return; }
  let a = vec4f(p.a);
  let b = vec4f(p.b);
  let base = vec4f(f32(i) * (1.0 / 65536.0)) + vec4f(0.0, 0.25, 0.5, 0.75);
  var acc0 = base;
  var acc1 = base + vec4f(1.0);
  var acc2 = base + vec4f(2.0);
  var acc3 = base + vec4f(3.0);
  var acc4 = base + vec4f(4.0);
  var acc5 = base + vec4f(5.0);
  var acc6 = base + vec4f(6.0);
  var acc7 = base + vec4f(7.0);
  for (var r = 0u; r < p.iters; r++) {
    // Four passes over the 8 independent chains: 32 vec4 multiply-adds per loop test.
    acc0 = acc0 * a + b; acc1 = acc1 * a + b; acc2 = acc2 * a + b; acc3 = acc3 * a + b;
    acc4 = acc4 * a + b; acc5 = acc5 * a + b; acc6 = acc6 * a + b; acc7 = acc7 * a + b;
    acc0 = acc0 * a + b; acc1 = acc1 * a + b; acc2 = acc2 * a + b; acc3 = acc3 * a + b;
    acc4 = acc4 * a + b; acc5 = acc5 * a + b; acc6 = acc6 * a + b; acc7 = acc7 * a + b;
    acc0 = acc0 * a + b; acc1 = acc1 * a + b; acc2 = acc2 * a + b; acc3 = acc3 * a + b;
    acc4 = acc4 * a + b; acc5 = acc5 * a + b; acc6 = acc6 * a + b; acc7 = acc7 * a + b;
    acc0 = acc0 * a + b; acc1 = acc1 * a + b; acc2 = acc2 * a + b; acc3 = acc3 * a + b;
    acc4 = acc4 * a + b; acc5 = acc5 * a + b; acc6 = acc6 * a + b; acc7 = acc7 * a + b;
  }
  let s = ((acc0 + acc1) + (acc2 + acc3)) + ((acc4 + acc5) + (acc6 + acc7));
  out[i] = (s.x + s.y) + (s.z + s.w);
}
