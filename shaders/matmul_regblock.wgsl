// matmul_regblock: C = op(A)·op(B) [+ bias] [→ GELU], or C += op(A)·op(B), for each batch index z:
//   C[z][i, j] = Σ_l op(A)[z][i, l] · op(B)[z][l, j]  (+ bias[j]),   then optionally out = gelu(·) (GPT-2 tanh form).
//   op(A) = A (stored M×K) or Aᵀ (TRANS_A: stored K×M); op(B) = B (stored K×N) or Bᵀ (TRANS_B: stored N×K).
// Shapes: M, K, N ≥ 1 any size; batch z's matrices start at z·stride (elements; stride 0 broadcasts one matrix).
//   a (batch, M×K or K×M), b (batch, K×N or N×K), c (batch, M, N), bias (N), pre (batch, M, N).
// Parallel: register blocking without workgroup memory (the fast form on CPU emulation such as SwiftShader,
// where barriers are costly): each thread computes a 4×4 block of C, walking K four at a time with
// 4×4 blocks of op(A) and op(B) held in registers (vec4 loads where rows are 16-byte aligned: VEC_A, VEC_B).
// WG_X × WG_Y threads per workgroup; x indexes column blocks (neighbouring threads read neighbouring memory of B
// and write neighbouring memory of C), y row blocks, z the batch.
struct Params { m: u32, k: u32, n: u32, stride_a: u32, stride_b: u32, stride_c: u32 }

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
override GELU: bool = false;
// With GELU: also write the pre-activation A·B + bias to `pre` (backward needs it).
override STORE_PRE: bool = false;
// c += A·B instead of c = A·B (gradient accumulation; the launcher allows it only without bias and GELU).
override ACCUMULATE: bool = false;
// op(A)'s contiguous direction has length and batch stride divisible by 4 (the launcher checks), so four
// consecutive elements are one aligned vec4; likewise VEC_B for op(B).
override VEC_A: bool = false;
override VEC_B: bool = false;
override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4f>;          // (batch, M, K) or (batch, K, M) as f32 groups of 4
@group(0) @binding(2) var<storage, read> b: array<vec4f>;          // (batch, K, N) or (batch, N, K) as f32 groups of 4
@group(0) @binding(3) var<storage, read_write> c: array<f32>;      // (batch, M, N)
@group(0) @binding(4) var<storage, read> bias: array<f32>;         // (N), a dummy unless HAS_BIAS
@group(0) @binding(5) var<storage, read_write> pre: array<f32>;    // (batch, M, N), a dummy unless STORE_PRE

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;

// Same sigmoid form as gelu_forward.wgsl: 0.5·(1 + tanh u) = σ(2u), no cancellation, exp kept finite.
fn gelu(x: f32) -> f32 {
  let u = clamp(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x), -40.0, 40.0);
  return x / (1.0 + exp(-2.0 * u));
}

fn a_at(e: u32) -> f32 { return a[e >> 2u][e & 3u]; }
fn b_at(e: u32) -> f32 { return b[e >> 2u][e & 3u]; }

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i0 = gid.y * 4u;
  let j0 = gid.x * 4u;
  if (i0 >= p.m || j0 >= p.n) { return; }
  let z = gid.z;
  let base_a = z * p.stride_a;
  let base_b = z * p.stride_b;
  // Rows and columns past the edge read the last valid one (in bounds) and are never stored.
  let rows = min(vec4u(i0) + vec4u(0u, 1u, 2u, 3u), vec4u(p.m - 1u));
  let cols = min(vec4u(j0) + vec4u(0u, 1u, 2u, 3u), vec4u(p.n - 1u));
  // Where op(A) / op(B) rows start in memory when they run along l (TRANS_A off / TRANS_B on).
  let a_rows = base_a + rows * p.k;
  let b_cols = base_b + cols * p.k;
  // The same in vec4 units, for the aligned paths (exact there: every term is a multiple of 4).
  let a_rows4 = a_rows >> vec4u(2u);
  let b_cols4 = b_cols >> vec4u(2u);
  let a_col4 = (base_a + i0) >> 2u;
  let b_row4 = (base_b + j0) >> 2u;

  // acc_r = C[i0 + r, j0 .. j0+3]. Per step of 4 along K: a_r = op(A)[i0 + r, l .. l+3] and
  // b_q = op(B)[l + q, j0 .. j0+3] (regrouping vector components is free: they live in separate registers),
  // then acc_r += a_r[q]·b_q written as a*b+c (fma() is slower on SwiftShader).
  var acc0 = vec4f();
  var acc1 = vec4f();
  var acc2 = vec4f();
  var acc3 = vec4f();
  let k4 = p.k & ~3u;
  for (var l = 0u; l < k4; l += 4u) {
    let l4 = l >> 2u;
    var a0: vec4f;
    var a1: vec4f;
    var a2: vec4f;
    var a3: vec4f;
    if (TRANS_A) {
      // op(A)[i, l] = A[l·M + i]: memory runs along i, so load t_q = op(A)[i0 .. i0+3, l + q] and regroup.
      let e = base_a + l * p.m;
      var t0: vec4f;
      var t1: vec4f;
      var t2: vec4f;
      var t3: vec4f;
      if (VEC_A) {
        let q = a_col4 + l4 * p.m;  // (base_a + l·M + i0) / 4
        let s = p.m >> 2u;
        t0 = a[q];
        t1 = a[q + s];
        t2 = a[q + 2u * s];
        t3 = a[q + 3u * s];
      } else {
        let r0 = e + rows;
        let r1 = r0 + p.m;
        let r2 = r1 + p.m;
        let r3 = r2 + p.m;
        t0 = vec4f(a_at(r0.x), a_at(r0.y), a_at(r0.z), a_at(r0.w));
        t1 = vec4f(a_at(r1.x), a_at(r1.y), a_at(r1.z), a_at(r1.w));
        t2 = vec4f(a_at(r2.x), a_at(r2.y), a_at(r2.z), a_at(r2.w));
        t3 = vec4f(a_at(r3.x), a_at(r3.y), a_at(r3.z), a_at(r3.w));
      }
      a0 = vec4f(t0.x, t1.x, t2.x, t3.x);
      a1 = vec4f(t0.y, t1.y, t2.y, t3.y);
      a2 = vec4f(t0.z, t1.z, t2.z, t3.z);
      a3 = vec4f(t0.w, t1.w, t2.w, t3.w);
    } else {
      // op(A)[i, l] = A[i·K + l]: memory runs along l.
      let e = a_rows + vec4u(l);
      if (VEC_A) {
        let q = a_rows4 + vec4u(l4);
        a0 = a[q.x];
        a1 = a[q.y];
        a2 = a[q.z];
        a3 = a[q.w];
      } else {
        a0 = vec4f(a_at(e.x), a_at(e.x + 1u), a_at(e.x + 2u), a_at(e.x + 3u));
        a1 = vec4f(a_at(e.y), a_at(e.y + 1u), a_at(e.y + 2u), a_at(e.y + 3u));
        a2 = vec4f(a_at(e.z), a_at(e.z + 1u), a_at(e.z + 2u), a_at(e.z + 3u));
        a3 = vec4f(a_at(e.w), a_at(e.w + 1u), a_at(e.w + 2u), a_at(e.w + 3u));
      }
    }
    var b0: vec4f;
    var b1: vec4f;
    var b2: vec4f;
    var b3: vec4f;
    if (TRANS_B) {
      // op(B)[l, j] = B[j·K + l]: memory runs along l, so load t_c = op(B)[l .. l+3, j0 + c] and regroup.
      let e = b_cols + vec4u(l);
      var t0: vec4f;
      var t1: vec4f;
      var t2: vec4f;
      var t3: vec4f;
      if (VEC_B) {
        let q = b_cols4 + vec4u(l4);
        t0 = b[q.x];
        t1 = b[q.y];
        t2 = b[q.z];
        t3 = b[q.w];
      } else {
        t0 = vec4f(b_at(e.x), b_at(e.x + 1u), b_at(e.x + 2u), b_at(e.x + 3u));
        t1 = vec4f(b_at(e.y), b_at(e.y + 1u), b_at(e.y + 2u), b_at(e.y + 3u));
        t2 = vec4f(b_at(e.z), b_at(e.z + 1u), b_at(e.z + 2u), b_at(e.z + 3u));
        t3 = vec4f(b_at(e.w), b_at(e.w + 1u), b_at(e.w + 2u), b_at(e.w + 3u));
      }
      b0 = vec4f(t0.x, t1.x, t2.x, t3.x);
      b1 = vec4f(t0.y, t1.y, t2.y, t3.y);
      b2 = vec4f(t0.z, t1.z, t2.z, t3.z);
      b3 = vec4f(t0.w, t1.w, t2.w, t3.w);
    } else {
      // op(B)[l, j] = B[l·N + j]: memory runs along j.
      let e = base_b + l * p.n;
      if (VEC_B) {
        let q = b_row4 + l4 * p.n;  // (base_b + l·N + j0) / 4
        let s = p.n >> 2u;
        b0 = b[q];
        b1 = b[q + s];
        b2 = b[q + 2u * s];
        b3 = b[q + 3u * s];
      } else {
        let r0 = e + cols;
        let r1 = r0 + p.n;
        let r2 = r1 + p.n;
        let r3 = r2 + p.n;
        b0 = vec4f(b_at(r0.x), b_at(r0.y), b_at(r0.z), b_at(r0.w));
        b1 = vec4f(b_at(r1.x), b_at(r1.y), b_at(r1.z), b_at(r1.w));
        b2 = vec4f(b_at(r2.x), b_at(r2.y), b_at(r2.z), b_at(r2.w));
        b3 = vec4f(b_at(r3.x), b_at(r3.y), b_at(r3.z), b_at(r3.w));
      }
    }
    acc0 = a0.x * b0 + acc0;
    acc0 = a0.y * b1 + acc0;
    acc0 = a0.z * b2 + acc0;
    acc0 = a0.w * b3 + acc0;
    acc1 = a1.x * b0 + acc1;
    acc1 = a1.y * b1 + acc1;
    acc1 = a1.z * b2 + acc1;
    acc1 = a1.w * b3 + acc1;
    acc2 = a2.x * b0 + acc2;
    acc2 = a2.y * b1 + acc2;
    acc2 = a2.z * b2 + acc2;
    acc2 = a2.w * b3 + acc2;
    acc3 = a3.x * b0 + acc3;
    acc3 = a3.y * b1 + acc3;
    acc3 = a3.z * b2 + acc3;
    acc3 = a3.w * b3 + acc3;
  }
  // The reduction tail (K mod 4) must not read past K, so it goes one l at a time.
  for (var l = k4; l < p.k; l++) {
    var av: vec4f;  // op(A)[i0 .. i0+3, l]
    var bv: vec4f;  // op(B)[l, j0 .. j0+3]
    if (TRANS_A) {
      let e = base_a + l * p.m + rows;
      av = vec4f(a_at(e.x), a_at(e.y), a_at(e.z), a_at(e.w));
    } else {
      let e = a_rows + vec4u(l);
      av = vec4f(a_at(e.x), a_at(e.y), a_at(e.z), a_at(e.w));
    }
    if (TRANS_B) {
      let e = b_cols + vec4u(l);
      bv = vec4f(b_at(e.x), b_at(e.y), b_at(e.z), b_at(e.w));
    } else {
      let e = base_b + l * p.n + cols;
      bv = vec4f(b_at(e.x), b_at(e.y), b_at(e.z), b_at(e.w));
    }
    acc0 = av.x * bv + acc0;
    acc1 = av.y * bv + acc1;
    acc2 = av.z * bv + acc2;
    acc3 = av.w * bv + acc3;
  }

  var bias4 = vec4f();
  if (HAS_BIAS) { bias4 = vec4f(bias[cols.x], bias[cols.y], bias[cols.z], bias[cols.w]); }
  let accs = array<vec4f, 4>(acc0 + bias4, acc1 + bias4, acc2 + bias4, acc3 + bias4);
  let base_c = z * p.stride_c;
  let nr = min(4u, p.m - i0);
  let nc = min(4u, p.n - j0);
  for (var r = 0u; r < nr; r++) {
    let e = base_c + (i0 + r) * p.n + j0;
    for (var q = 0u; q < nc; q++) {
      var v = accs[r][q];
      if (GELU) {
        if (STORE_PRE) { pre[e + q] = v; }
        v = gelu(v);
      }
      if (ACCUMULATE) { c[e + q] += v; } else { c[e + q] = v; }
    }
  }
}
