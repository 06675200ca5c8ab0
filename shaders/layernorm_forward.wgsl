// layernorm_forward: out = (x − mean)·rstd·weight + bias per row, with mean = Σx/C, rstd = 1/√(Σ(x − mean)²/C + eps),
// as in GPT-2 / llm.c. Saves mean and rstd for the backward pass.
// Shapes: N = B·T rows, C channels (any C ≥ 1). inp, out (N,C); weight, bias (C); mean, rstd (N).
// Parallel: WG threads per workgroup = WG/TPR rows × TPR threads (src/kernels/rows.ts picks the variant):
//   tree   (GPUs: WG 256, TPR 32) each row's 32 threads stride over its C columns (coalesced) and combine their
//          partial sums with a fixed-order tree in workgroup memory (deterministic);
//   serial (CPU-emulated adapters: TPR 1) each thread walks its own row in order: no workgroup memory and no
//          barriers, which such adapters pay for with a coroutine switch per thread.
// WG and TPR are powers of two.
// Sums run over x − x[row, 0] (exact in f32 for nearby values) and the variance is a second pass Σ(x − mean)²,
// so both stay accurate when |mean| ≫ std.
// The workgroup grid folds into (x, y) past 65535 workgroups.
struct Params { n: u32, c: u32, eps: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> inp: array<f32>;          // (N,C)
@group(0) @binding(2) var<storage, read> weight: array<f32>;       // (C)
@group(0) @binding(3) var<storage, read> bias: array<f32>;         // (C)
@group(0) @binding(4) var<storage, read_write> out: array<f32>;    // (N,C)
@group(0) @binding(5) var<storage, read_write> mean: array<f32>;   // (N)
@group(0) @binding(6) var<storage, read_write> rstd: array<f32>;   // (N)

override WG: u32 = 256u;   // threads per workgroup
override TPR: u32 = 32u;   // threads per row, dividing WG; 1 = serial

var<workgroup> red: array<f32, WG>;

// Sums `v` over the TPR threads of each row segment; every thread gets its row's total. Called in uniform
// control flow by the whole workgroup.
fn row_sum(lid: u32, v: f32) -> f32 {
  if (TPR == 1u) { return v; }   // serial: the thread already holds its row's total
  red[lid] = v;
  workgroupBarrier();
  let lane = lid % TPR;
  for (var s = TPR / 2u; s > 0u; s >>= 1u) {
    if (lane < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[lid - lane];
  workgroupBarrier();   // everyone has read the total before `red` is reused
  return total;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let row = (wid.y * nwg.x + wid.x) * (WG / TPR) + lid / TPR;
  let lane = lid % TPR;
  // Threads past the last row still take part in the barriers; they read and write nothing.
  let valid = row < p.n;
  let base = row * p.c;

  var s = 0.0;
  var x0 = 0.0;
  if (valid) {
    x0 = inp[base];
    for (var i = lane; i < p.c; i += TPR) { s += inp[base + i] - x0; }
  }
  let m = row_sum(lid, s) / f32(p.c);   // mean − x0

  var v = 0.0;
  if (valid) {
    for (var i = lane; i < p.c; i += TPR) {
      let d = (inp[base + i] - x0) - m;
      v += d * d;
    }
  }
  let r = 1.0 / sqrt(row_sum(lid, v) / f32(p.c) + p.eps);

  if (!valid) { return; }
  for (var i = lane; i < p.c; i += TPR) {
    out[base + i] = ((inp[base + i] - x0) - m) * r * weight[i] + bias[i];
  }
  if (lane == 0u) {
    mean[row] = x0 + m;
    rstd[row] = r;
  }
}
