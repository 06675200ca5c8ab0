// layernorm_backward: the input gradient of layernorm_forward, plus per-chunk partial sums of the parameter
// gradients (finished by layernorm_backward_weight.wgsl). With xhat = (x − mean)·rstd and g = weight·dout:
//   dinp = (g − mean_c(g) − xhat·mean_c(g·xhat))·rstd          (dinp += … when p.accumulate = 1)
//   scratch[k, 0, c] = Σ_{rows n of chunk k} dout[n,c]·xhat[n,c]   (partial dweight)
//   scratch[k, 1, c] = Σ_{rows n of chunk k} dout[n,c]             (partial dbias)
// Shapes: N = B·T rows, C channels (any C); K = ⌈N/32⌉ row chunks. dout, inp, dinp (N,C); weight (C);
// mean, rstd (N) saved by the forward; scratch (K,2,C).
// Parallel: one workgroup of WG threads per chunk of 32 rows (src/kernels/rows.ts picks the variant). Phase 1
// reduces the two row means, WG/TPR rows at a time:
//   tree   (GPUs: WG 256, TPR 32) 8 rows at a time, 32 threads per row, fixed-order tree in workgroup memory;
//   serial (CPU-emulated adapters: WG 32, TPR 1) each thread walks one row in order, with no reduction
//          barriers (such adapters pay a coroutine switch per thread at each one).
// Phase 2: each thread owns columns c = lid, lid + WG, … and walks the chunk's rows in order, writing dinp and
// summing the parameter gradients in registers, so every scratch element has exactly one writer and the sums
// are deterministic (no atomics). WG and TPR are powers of two with WG/TPR ≤ 32.
// The workgroup grid folds into (x, y) past 65535 workgroups.
struct Params { n: u32, c: u32, accumulate: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dout: array<f32>;            // (N,C)
@group(0) @binding(2) var<storage, read> inp: array<f32>;             // (N,C)
@group(0) @binding(3) var<storage, read> weight: array<f32>;          // (C)
@group(0) @binding(4) var<storage, read> mean: array<f32>;            // (N)
@group(0) @binding(5) var<storage, read> rstd: array<f32>;            // (N)
@group(0) @binding(6) var<storage, read_write> dinp: array<f32>;      // (N,C)
@group(0) @binding(7) var<storage, read_write> scratch: array<f32>;   // (K,2,C)

override WG: u32 = 256u;   // threads per workgroup
override TPR: u32 = 32u;   // threads per row in phase 1, dividing WG; 1 = serial
const CHUNK: u32 = 32u;   // rows per workgroup (and per scratch slice); keep in sync with src/kernels/layernorm.ts

var<workgroup> red_a: array<f32, WG>;
var<workgroup> red_b: array<f32, WG>;
var<workgroup> row_mean: array<f32, CHUNK>;
var<workgroup> row_rstd: array<f32, CHUNK>;
var<workgroup> g_mean: array<f32, CHUNK>;       // mean_c(weight·dout)
var<workgroup> gx_mean: array<f32, CHUNK>;      // mean_c(weight·dout·xhat)

// Sums (a, g) over the TPR threads of each row segment; every thread gets its row's totals. Called in uniform
// control flow by the whole workgroup.
fn row_sums(lid: u32, a: f32, g: f32) -> vec2f {
  if (TPR == 1u) { return vec2f(a, g); }   // serial: the thread already holds its row's totals
  let lane = lid % TPR;
  red_a[lid] = a;
  red_b[lid] = g;
  workgroupBarrier();
  for (var k = TPR / 2u; k > 0u; k >>= 1u) {
    if (lane < k) {
      red_a[lid] += red_a[lid + k];
      red_b[lid] += red_b[lid + k];
    }
    workgroupBarrier();
  }
  let total = vec2f(red_a[lid - lane], red_b[lid - lane]);
  workgroupBarrier();   // everyone has read the totals before red_a, red_b are reused
  return total;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let chunk = wid.y * nwg.x + wid.x;
  let row0 = chunk * CHUNK;
  if (row0 >= p.n) { return; }   // uniform: the same for the whole workgroup
  let rows = min(CHUNK, p.n - row0);
  let C = p.c;
  let lane = lid % TPR;

  // Phase 1: the two row means, WG/TPR rows at a time.
  for (var b = 0u; b < CHUNK; b += WG / TPR) {
    let r = b + lid / TPR;
    let n = row0 + r;
    var a = 0.0;
    var g = 0.0;
    var m = 0.0;
    var s = 0.0;
    if (r < rows) {
      m = mean[n];
      s = rstd[n];
      let base = n * C;
      for (var i = lane; i < C; i += TPR) {
        let dn = weight[i] * dout[base + i];
        a += dn;
        g += dn * (inp[base + i] - m) * s;
      }
    }
    let sums = row_sums(lid, a, g);
    if (lane == 0u) {
      g_mean[r] = sums.x / f32(C);
      gx_mean[r] = sums.y / f32(C);
      row_mean[r] = m;
      row_rstd[r] = s;
    }
  }
  workgroupBarrier();   // phase 2 reads every row's means

  // Phase 2: dinp and the chunk's parameter-gradient partials, one thread per column.
  let out0 = chunk * 2u * C;
  for (var c = lid; c < C; c += WG) {
    let w = weight[c];
    var dw = 0.0;
    var db = 0.0;
    for (var r = 0u; r < rows; r++) {
      let i = (row0 + r) * C + c;
      let d = dout[i];
      let s = row_rstd[r];
      let xhat = (inp[i] - row_mean[r]) * s;
      dw += d * xhat;
      db += d;
      let dx = (w * d - g_mean[r] - xhat * gx_mean[r]) * s;
      if (p.accumulate == 1u) { dinp[i] += dx; } else { dinp[i] = dx; }
    }
    scratch[out0 + c] = dw;
    scratch[out0 + C + c] = db;
  }
}
