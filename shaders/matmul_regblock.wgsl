// matmul_regblock: C = op(A)·op(B) [+ bias] [→ GELU], or C += op(A)·op(B), for each batch index z:
//   C[z][i, j] = Σ_l op(A)[z][i, l] · op(B)[z][l, j]  (+ bias[j]),   then optionally out = gelu(·) (GPT-2 tanh form).
//   op(A) = A (stored M×K) or Aᵀ (TRANS_A: stored K×M); op(B) = B (stored K×N) or Bᵀ (TRANS_B: stored N×K).
// Shapes: M, K, N ≥ 1 any size; batch z's matrices start at z·stride (elements; stride 0 broadcasts one matrix).
//   a (batch, M×K or K×M), b (batch, K×N or N×K), c (batch, M, N), bias (N), pre (batch, M, N).
// Parallel: register blocking without workgroup memory, for CPU emulation such as SwiftShader, where barriers are
// costly and each storage load is a per-lane gather that costs several times the multiply-adds it feeds: loads,
// not arithmetic, bound a small block. So each thread owns a 16×8 block of C (eight 4×4 blocks: 24 vec4 loads
// per 4 steps of K for 512 multiply-adds, where a 4×4 block needs 8 for 64), and the 4 lanes of a subgroup, which
// own neighbouring column blocks of the same rows, split op(A)'s 16 loads four ways and share them with
// subgroupBroadcast (register shuffles, a few times cheaper than a load): 12 loads per lane. That needs
// subgroups whose lanes 0–3 are consecutive x of one row of threads: subgroup size a multiple of 4 that divides
// WG_X (SwiftShader's is 4; the launcher checks). WG_X × WG_Y threads per workgroup; x indexes column blocks
// (neighbouring threads read neighbouring memory of B and write neighbouring memory of C), y row blocks, z the
// batch.
enable subgroups;
// The analysis cannot see that the early return in main is the same on every lane of a subgroup (it is).
diagnostic(off, subgroup_uniformity);

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
const LANES = vec4u(0u, 1u, 2u, 3u);

// Same sigmoid form as gelu_forward.wgsl: 0.5·(1 + tanh u) = σ(2u), no cancellation, exp kept finite.
fn gelu(x: f32) -> f32 {
  let u = clamp(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x), -40.0, 40.0);
  return x / (1.0 + exp(-2.0 * u));
}

fn a_at(e: u32) -> f32 { return a[e >> 2u][e & 3u]; }
fn b_at(e: u32) -> f32 { return b[e >> 2u][e & 3u]; }

// Elements e .. e+3 of a (one aligned vec4 load with VEC_A); those at offset ≥ valid (1 ≤ valid) lie past an
// edge of op(A) and read as 0, from an in-bounds address.
fn a_run(e: u32, valid: u32) -> vec4f {
  if (VEC_A) { return a[e >> 2u]; }
  let o = min(LANES, vec4u(valid - 1u));
  return select(vec4f(), vec4f(a_at(e + o.x), a_at(e + o.y), a_at(e + o.z), a_at(e + o.w)), LANES < vec4u(valid));
}

fn b_run(e: u32, valid: u32) -> vec4f {
  if (VEC_B) { return b[e >> 2u]; }
  let o = min(LANES, vec4u(valid - 1u));
  return select(vec4f(), vec4f(b_at(e + o.x), b_at(e + o.y), b_at(e + o.z), b_at(e + o.w)), LANES < vec4u(valid));
}

// op(A)[i .. i+3, l .. l+3] transposed (column r = op(A)[i + r, l .. l+3]), terms past M or K as 0. Lane q
// (mod 4) of the subgroup loads one run of the block and the four are broadcast to every lane.
fn a_block(base: u32, i: u32, l: u32, lane: u32) -> mat4x4f {
  var v: vec4f;
  if (TRANS_A) {
    // lane q: op(A)[i .. i+3, l + q] = A[(l + q)·M + i ..], memory along i. With VEC_A, M is a multiple of 4,
    // so a group starting at or past M lies wholly past it and may read any aligned group.
    let lq = l + lane;
    let start = min(i, p.m - select(1u, 4u, VEC_A));
    let run = a_run(base + min(lq, p.k - 1u) * p.m + start, min(p.m - start, 4u));
    v = select(vec4f(), run, lq < p.k);
  } else {
    // lane q: op(A)[i + q, l .. l+3] = A[(i + q)·K + l ..], memory along l.
    v = a_run(base + min(i + lane, p.m - 1u) * p.k + l, min(p.k - l, 4u));
  }
  let m = mat4x4f(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u));
  if (TRANS_A) { return transpose(m); }
  return m;
}

// op(B)[l .. l+3, j .. j+3] transposed (column q = op(B)[l + q, j .. j+3]), terms past K as 0; columns past N
// read the last valid column (in bounds, never stored).
fn b_block(base: u32, j: u32, l: u32) -> mat4x4f {
  if (TRANS_B) {
    // op(B)[l .. l+3, j + c] = B[(j + c)·K + l ..], memory along l: load the four columns and transpose.
    let e = base + min(vec4u(j) + LANES, vec4u(p.n - 1u)) * p.k + vec4u(l);
    let valid = min(p.k - l, 4u);
    return transpose(mat4x4f(b_run(e.x, valid), b_run(e.y, valid), b_run(e.z, valid), b_run(e.w, valid)));
  }
  // op(B)[l + q, j .. j+3] = B[(l + q)·N + j ..], memory along j (whole aligned groups with VEC_B, as in a_block).
  let start = min(j, p.n - select(1u, 4u, VEC_B));
  let valid = min(p.n - start, 4u);
  let lq = vec4u(l) + LANES;
  let e = base + min(lq, vec4u(p.k - 1u)) * p.n + vec4u(start);
  let m = mat4x4f(b_run(e.x, valid), b_run(e.y, valid), b_run(e.z, valid), b_run(e.w, valid));
  return mat4x4f(select(vec4f(), m[0], lq.x < p.k), select(vec4f(), m[1], lq.y < p.k),
                 select(vec4f(), m[2], lq.z < p.k), select(vec4f(), m[3], lq.w < p.k));
}

// Writes the 4×4 block acc (column r = C[i + r, j .. j+3]) where it lies inside M×N, with the epilogue.
fn store_block(acc: mat4x4f, base_c: u32, i: u32, j: u32) {
  let nr = min(4u, p.m - min(i, p.m));
  let nc = min(4u, p.n - min(j, p.n));
  for (var r = 0u; r < nr; r++) {
    let e = base_c + (i + r) * p.n + j;
    for (var q = 0u; q < nc; q++) {
      var v = acc[r][q];
      if (HAS_BIAS) { v += bias[j + q]; }
      if (GELU) {
        if (STORE_PRE) { pre[e + q] = v; }
        v = gelu(v);
      }
      if (ACCUMULATE) { c[e + q] += v; } else { c[e + q] = v; }
    }
  }
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(subgroup_invocation_id) sg_lane: u32) {
  let i0 = gid.y * 16u;
  let j0 = gid.x * 8u;
  // Threads past the edge still load their share of op(A) for their subgroup, so only whole subgroups past it
  // leave: lanes 0–3 share gid.y and an aligned group of 4 in x, so this is uniform where broadcasts read.
  if (i0 >= p.m || (gid.x & ~3u) * 8u >= p.n) { return; }
  let lane = sg_lane & 3u;
  let z = gid.z;
  let base_a = z * p.stride_a;
  let base_b = z * p.stride_b;
  // acc<r><h> = C[i0 + 4r .. +3, j0 + 4h .. +3] transposed (h = a, b: 0, 1; column = a row of C), plus
  // op(B)ᵀ-block · op(A)ᵀ-block per 4 steps of K (SwiftShader multiplies matrices as a*b+c, not the slower fma()).
  var acc0a = mat4x4f();
  var acc0b = mat4x4f();
  var acc1a = mat4x4f();
  var acc1b = mat4x4f();
  var acc2a = mat4x4f();
  var acc2b = mat4x4f();
  var acc3a = mat4x4f();
  var acc3b = mat4x4f();
  for (var l = 0u; l < p.k; l += 4u) {
    let ba = b_block(base_b, j0, l);
    let bb = b_block(base_b, j0 + 4u, l);
    let a0 = a_block(base_a, i0, l, lane);
    acc0a += ba * a0;
    acc0b += bb * a0;
    let a1 = a_block(base_a, i0 + 4u, l, lane);
    acc1a += ba * a1;
    acc1b += bb * a1;
    let a2 = a_block(base_a, i0 + 8u, l, lane);
    acc2a += ba * a2;
    acc2b += bb * a2;
    let a3 = a_block(base_a, i0 + 12u, l, lane);
    acc3a += ba * a3;
    acc3b += bb * a3;
  }
  let base_c = z * p.stride_c;
  store_block(acc0a, base_c, i0, j0);
  store_block(acc0b, base_c, i0, j0 + 4u);
  store_block(acc1a, base_c, i0 + 4u, j0);
  store_block(acc1b, base_c, i0 + 4u, j0 + 4u);
  store_block(acc2a, base_c, i0 + 8u, j0);
  store_block(acc2b, base_c, i0 + 8u, j0 + 4u);
  store_block(acc3a, base_c, i0 + 12u, j0);
  store_block(acc3b, base_c, i0 + 12u, j0 + 4u);
}
