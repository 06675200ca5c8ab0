// matmul_tiled: C = op(A)·op(B) [+ bias] [→ GELU], or C += op(A)·op(B), for each batch index z:
//   C[z][i, j] = Σ_l op(A)[z][i, l] · op(B)[z][l, j]  (+ bias[j]),   then optionally out = gelu(·) (GPT-2 tanh form).
//   op(A) = A (stored M×K) or Aᵀ (TRANS_A: stored K×M); op(B) = B (stored K×N) or Bᵀ (TRANS_B: stored N×K).
// Shapes: M, K, N ≥ 1 any size; batch z's matrices start at z·stride (elements; stride 0 broadcasts one matrix).
//   a (batch, M×K or K×M), b (batch, K×N or N×K), c (batch, M, N), bias (N), pre (batch, M, N).
// Parallel: workgroup-memory tiling (the fast form on real GPUs). A workgroup of (BN/4)×(BM/4) threads owns a
// BM×BN tile of C; per BK-slice of K it stages op(A)[BM×BK] and op(B)[BK×BN] in workgroup memory with coalesced
// loads (zero-filled past the edges), then each thread accumulates 4×4 outputs from it: rows ty + r·BM/4 and
// columns tx + c·BN/4, so neighbouring threads read neighbouring workgroup words (no bank conflicts) and write
// neighbouring words of C. Workgroup x indexes column tiles, y row tiles, z the batch.
struct Params { m: u32, k: u32, n: u32, stride_a: u32, stride_b: u32, stride_c: u32 }

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
override GELU: bool = false;
// With GELU: also write the pre-activation A·B + bias to `pre` (backward needs it).
override STORE_PRE: bool = false;
// c += A·B instead of c = A·B (gradient accumulation; the launcher allows it only without bias and GELU).
override ACCUMULATE: bool = false;
// Tile sizes: BM and BN multiples of 4 with (BM/4)·(BN/4) ≤ 256 threads; (BM + BN + 8)·BK·4 bytes ≤ 16 KiB.
// BK = 8 rather than 16: WebGPU zero-fills workgroup memory, and SwiftShader compiles that fill element by
// element (~0.5 ms of pipeline creation per f32), so 16 would cost ~1.5 s per pipeline there; on GPUs the
// 4×4-per-thread inner loop, not the barrier per 8 steps of K, is what bounds the speed.
override BM: u32 = 64u;
override BN: u32 = 64u;
override BK: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;            // (batch, M, K) or (batch, K, M)
@group(0) @binding(2) var<storage, read> b: array<f32>;            // (batch, K, N) or (batch, N, K)
@group(0) @binding(3) var<storage, read_write> c: array<f32>;      // (batch, M, N)
@group(0) @binding(4) var<storage, read> bias: array<f32>;         // (N), a dummy unless HAS_BIAS
@group(0) @binding(5) var<storage, read_write> pre: array<f32>;    // (batch, M, N), a dummy unless STORE_PRE

// tile_a[kk·(BM+4) + r] = op(A)[row0 + r, k0 + kk] and tile_b[kk·(BN+4) + q] = op(B)[k0 + kk, col0 + q]. The pad
// of 4 makes the transposing stores (memory along K: 32 threads = 4 rows × 8 kk) hit 32 distinct banks.
var<workgroup> tile_a: array<f32, BK * (BM + 4u)>;
var<workgroup> tile_b: array<f32, BK * (BN + 4u)>;

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;

// Same sigmoid form as gelu_forward.wgsl: 0.5·(1 + tanh u) = σ(2u), no cancellation, exp kept finite.
fn gelu(x: f32) -> f32 {
  let u = clamp(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x), -40.0, 40.0);
  return x / (1.0 + exp(-2.0 * u));
}

@compute @workgroup_size(BN / 4u, BM / 4u)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let threads = (BM / 4u) * (BN / 4u);
  let a_pitch = BM + 4u;
  let b_pitch = BN + 4u;
  let row0 = wid.y * BM;
  let col0 = wid.x * BN;
  let z = wid.z;
  let base_a = z * p.stride_a;
  let base_b = z * p.stride_b;
  let tx = lid.x;
  let ty = lid.y;
  let sm = BM / 4u;
  let sn = BN / 4u;

  var acc0 = vec4f();  // C[row0 + ty + r·sm, col0 + tx + q·sn] is acc_r[q]
  var acc1 = vec4f();
  var acc2 = vec4f();
  var acc3 = vec4f();

  for (var k0 = 0u; k0 < p.k; k0 += BK) {
    // Stage op(A)[row0 .., k0 ..]: consecutive threads take consecutive memory words.
    for (var e = li; e < BM * BK; e += threads) {
      var r: u32;
      var kk: u32;
      if (TRANS_A) { r = e % BM; kk = e / BM; } else { kk = e % BK; r = e / BK; }
      let i = row0 + r;
      let l = k0 + kk;
      var v = 0.0;
      if (i < p.m && l < p.k) {
        if (TRANS_A) { v = a[base_a + l * p.m + i]; } else { v = a[base_a + i * p.k + l]; }
      }
      tile_a[kk * a_pitch + r] = v;
    }
    // Stage op(B)[k0 .., col0 ..].
    for (var e = li; e < BK * BN; e += threads) {
      var q: u32;
      var kk: u32;
      if (TRANS_B) { kk = e % BK; q = e / BK; } else { q = e % BN; kk = e / BN; }
      let j = col0 + q;
      let l = k0 + kk;
      var v = 0.0;
      if (j < p.n && l < p.k) {
        if (TRANS_B) { v = b[base_b + j * p.k + l]; } else { v = b[base_b + l * p.n + j]; }
      }
      tile_b[kk * b_pitch + q] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let ra = kk * a_pitch + ty;
      let av = vec4f(tile_a[ra], tile_a[ra + sm], tile_a[ra + 2u * sm], tile_a[ra + 3u * sm]);
      let rb = kk * b_pitch + tx;
      let bv = vec4f(tile_b[rb], tile_b[rb + sn], tile_b[rb + 2u * sn], tile_b[rb + 3u * sn]);
      acc0 += av.x * bv;
      acc1 += av.y * bv;
      acc2 += av.z * bv;
      acc3 += av.w * bv;
    }
    workgroupBarrier();
  }

  let cols = vec4u(col0 + tx) + vec4u(0u, 1u, 2u, 3u) * sn;
  var bias4 = vec4f();
  if (HAS_BIAS) {
    let cl = min(cols, vec4u(p.n - 1u));  // clamped: columns past N are never stored
    bias4 = vec4f(bias[cl.x], bias[cl.y], bias[cl.z], bias[cl.w]);
  }
  let base_c = z * p.stride_c;
  let accs = array<vec4f, 4>(acc0 + bias4, acc1 + bias4, acc2 + bias4, acc3 + bias4);
  for (var r = 0u; r < 4u; r++) {
    let i = row0 + ty + r * sm;
    if (i >= p.m) { break; }
    for (var q = 0u; q < 4u; q++) {
      let j = cols[q];
      if (j >= p.n) { break; }
      let e = base_c + i * p.n + j;
      var v = accs[r][q];
      if (GELU) {
        if (STORE_PRE) { pre[e] = v; }
        v = gelu(v);
      }
      if (ACCUMULATE) { c[e] += v; } else { c[e] = v; }
    }
  }
}
