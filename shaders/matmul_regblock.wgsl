// matmul_regblock: C = op(A)·op(B) [+ bias] [→ GELU], or C += op(A)·op(B), for each batch index z:
//   C[z][i, j] = Σ_l op(A)[z][i, l] · op(B)[z][l, j]  (+ bias[j]),   then optionally out = gelu(·) (GPT-2 tanh form).
//   op(A) = A (stored M×K) or Aᵀ (TRANS_A: stored K×M); op(B) = B (stored K×N) or Bᵀ (TRANS_B: stored N×K).
// Shapes: M, K, N ≥ 1 any size; batch z's matrices start at z·stride (elements; stride 0 broadcasts one matrix).
//   a (batch, M×K or K×M), b (batch, K×N or N×K), c (batch, M, N), bias (N), pre (batch, M, N).
// Parallel: register blocking without workgroup memory (the fast form on CPU emulation such as SwiftShader,
// where barriers are costly): each thread computes a 4×4 block of C, walking K four at a time with
// 4×4 blocks of op(A) and op(B) held in registers (vec4 loads where rows are 16-byte aligned, VEC_A/VEC_B).
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

// 4×4 block of op(A): column r holds op(A)[rows[r], l .. l+3].
fn a_block(base: u32, rows: vec4u, l: u32) -> mat4x4f {
  if (TRANS_A) {
    // op(A)[i, l] = A[l·M + i]: memory runs along i, so load the 4 rows per l and transpose.
    let r0 = base + l * p.m;
    if (VEC_A) {
      let q = (r0 + rows.x) >> 2u;
      let s = p.m >> 2u;
      return transpose(mat4x4f(a[q], a[q + s], a[q + 2u * s], a[q + 3u * s]));
    }
    let r1 = r0 + p.m;
    let r2 = r1 + p.m;
    let r3 = r2 + p.m;
    return mat4x4f(
      vec4f(a_at(r0 + rows.x), a_at(r1 + rows.x), a_at(r2 + rows.x), a_at(r3 + rows.x)),
      vec4f(a_at(r0 + rows.y), a_at(r1 + rows.y), a_at(r2 + rows.y), a_at(r3 + rows.y)),
      vec4f(a_at(r0 + rows.z), a_at(r1 + rows.z), a_at(r2 + rows.z), a_at(r3 + rows.z)),
      vec4f(a_at(r0 + rows.w), a_at(r1 + rows.w), a_at(r2 + rows.w), a_at(r3 + rows.w)));
  }
  // op(A)[i, l] = A[i·K + l]: memory runs along l.
  let e = base + rows * p.k + vec4u(l);
  if (VEC_A) {
    return mat4x4f(a[e.x >> 2u], a[e.y >> 2u], a[e.z >> 2u], a[e.w >> 2u]);
  }
  return mat4x4f(
    vec4f(a_at(e.x), a_at(e.x + 1u), a_at(e.x + 2u), a_at(e.x + 3u)),
    vec4f(a_at(e.y), a_at(e.y + 1u), a_at(e.y + 2u), a_at(e.y + 3u)),
    vec4f(a_at(e.z), a_at(e.z + 1u), a_at(e.z + 2u), a_at(e.z + 3u)),
    vec4f(a_at(e.w), a_at(e.w + 1u), a_at(e.w + 2u), a_at(e.w + 3u)));
}

// 4×4 block of op(B): column q holds op(B)[l + q, cols[0..3]].
fn b_block(base: u32, cols: vec4u, l: u32) -> mat4x4f {
  if (TRANS_B) {
    // op(B)[l, j] = B[j·K + l]: memory runs along l, so load 4 l's per column and transpose.
    let e = base + cols * p.k + vec4u(l);
    if (VEC_B) {
      return transpose(mat4x4f(b[e.x >> 2u], b[e.y >> 2u], b[e.z >> 2u], b[e.w >> 2u]));
    }
    return mat4x4f(
      vec4f(b_at(e.x), b_at(e.y), b_at(e.z), b_at(e.w)),
      vec4f(b_at(e.x + 1u), b_at(e.y + 1u), b_at(e.z + 1u), b_at(e.w + 1u)),
      vec4f(b_at(e.x + 2u), b_at(e.y + 2u), b_at(e.z + 2u), b_at(e.w + 2u)),
      vec4f(b_at(e.x + 3u), b_at(e.y + 3u), b_at(e.z + 3u), b_at(e.w + 3u)));
  }
  // op(B)[l, j] = B[l·N + j]: memory runs along j.
  let r0 = base + l * p.n;
  if (VEC_B) {
    let q = (r0 + cols.x) >> 2u;
    let s = p.n >> 2u;
    return mat4x4f(b[q], b[q + s], b[q + 2u * s], b[q + 3u * s]);
  }
  let r1 = r0 + p.n;
  let r2 = r1 + p.n;
  let r3 = r2 + p.n;
  return mat4x4f(
    vec4f(b_at(r0 + cols.x), b_at(r0 + cols.y), b_at(r0 + cols.z), b_at(r0 + cols.w)),
    vec4f(b_at(r1 + cols.x), b_at(r1 + cols.y), b_at(r1 + cols.z), b_at(r1 + cols.w)),
    vec4f(b_at(r2 + cols.x), b_at(r2 + cols.y), b_at(r2 + cols.z), b_at(r2 + cols.w)),
    vec4f(b_at(r3 + cols.x), b_at(r3 + cols.y), b_at(r3 + cols.z), b_at(r3 + cols.w)));
}

fn a_elem(base: u32, i: u32, l: u32) -> f32 {
  if (TRANS_A) { return a_at(base + l * p.m + i); }
  return a_at(base + i * p.k + l);
}

fn b_elem(base: u32, l: u32, j: u32) -> f32 {
  if (TRANS_B) { return b_at(base + j * p.k + l); }
  return b_at(base + l * p.n + j);
}

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

  // acc column r = C[i0 + r, j0 .. j0+3]; op(B)-block × op(A)-block adds Σ_q op(A)[i_r, l+q]·op(B)[l+q, ·].
  var acc = mat4x4f();
  let k4 = p.k & ~3u;
  for (var l = 0u; l < k4; l += 4u) {
    acc += b_block(base_b, cols, l) * a_block(base_a, rows, l);
  }
  // The reduction tail (K mod 4) must not read past K, so it goes one l at a time.
  for (var l = k4; l < p.k; l++) {
    let av = vec4f(a_elem(base_a, rows.x, l), a_elem(base_a, rows.y, l), a_elem(base_a, rows.z, l), a_elem(base_a, rows.w, l));
    let bv = vec4f(b_elem(base_b, l, cols.x), b_elem(base_b, l, cols.y), b_elem(base_b, l, cols.z), b_elem(base_b, l, cols.w));
    acc += mat4x4f(av.x * bv, av.y * bv, av.z * bv, av.w * bv);
  }

  var bias4 = vec4f();
  if (HAS_BIAS) { bias4 = vec4f(bias[cols.x], bias[cols.y], bias[cols.z], bias[cols.w]); }
  let base_c = z * p.stride_c;
  let nr = min(4u, p.m - i0);
  let nc = min(4u, p.n - j0);
  for (var r = 0u; r < nr; r++) {
    let row = acc[r] + bias4;
    let e = base_c + (i0 + r) * p.n + j0;
    for (var q = 0u; q < nc; q++) {
      var v = row[q];
      if (GELU) {
        if (STORE_PRE) { pre[e + q] = v; }
        v = gelu(v);
      }
      if (ACCUMULATE) { c[e + q] += v; } else { c[e + q] = v; }
    }
  }
}
