// decode_forward: one KV-cache decode step of the whole GPT — one new token per row — in a single dispatch:
//   s = pos[b] + offset,  x = wte[tokens[b,s]] + wpe[s]
//   per layer l:  h = ln_1(x);  q|k|v = h·W_attn + b_attn;  k, v → cache slot s of layer l;
//                 att = Σ_{j≤s} softmax_j(scale·q·k_j)·v_j per head (scale = 1/√HS);
//                 x += att·W_proj + b_proj;  h = ln_2(x);  f = gelu(h·W_fc + b_fc);  x += f·W_mproj + b_mproj
//   logits[b] = ln_f(x)·wteᵀ  (the LM head is tied to the token embedding)
// A row with s ≥ min(W, maxT) does nothing (no cache slot, logits untouched). The cache must hold slots 0..s−1 of
// every layer (the prefill and earlier steps); this step writes slot s. Same math as the layer-by-layer kernels
// (layernorm_forward, matmul with bias / GELU epilogue, kv_cache_write, attention, residual_forward); sums run in
// a fixed order, so a row's result does not depend on the batch it is in.
// Weights are read from the parameter arena (GPT-2 layout, linear weights stored [in, out]) at element offsets the
// launcher passes: layer l's weight matrices at <name> + l·layer_w, its biases and LayerNorm parameters at
// <name> + l·layer_b.
// Shapes: tokens (B,W) u32 each row's sequence; pos (B) u32; k_cache, v_cache (L, cache_stride): layer l's
// (B,NH,maxT,HS) at l·cache_stride; work (B, work_stride) per-row scratch: x (C) | h (C) | a (4C: q|k|v, then
// the MLP's hidden f) | att (C) | sums (NH) | sc (NH,maxT) attention weights; logits (B,V).
// Legend: B rows, W sequence width, C channels, NH heads, HS = C/NH, maxT cache slots, L layers, V vocabulary.
// Parallel: one workgroup of WG threads per R rows (R ≤ 4; 16 threads on CPU-emulated adapters, where each thread
// of a workgroup with barriers costs a coroutine, 64 on GPUs). At M = B rows every matmul is a matrix-vector
// product, so a workgroup can run the whole step with no other workgroup's data: thread t computes 4 adjacent
// output columns of column block t, t + WG, … for all R rows at once, each weight it loads used R times, each
// activation 4 times (register blocking, as matmul_regblock; SwiftShader needs it most). Attention: (head, key)
// pairs t, t + WG, … score, thread h runs head h's softmax, threads t, t + WG, … own output channels, row by row;
// LayerNorm sums are per-thread partials (a vector lane per row) added in thread order. Sums never mix rows, so a
// row's result does not depend on which rows share its workgroup.
struct Params {
  B: u32, C: u32, NH: u32, V: u32, W: u32, maxT: u32, L: u32, offset: u32, cache_stride: u32, work_stride: u32,
  wte: u32, wpe: u32, ln_f_w: u32, ln_f_b: u32,
  ln1_w: u32, ln1_b: u32, attn_w: u32, attn_b: u32, aproj_w: u32, aproj_b: u32,
  ln2_w: u32, ln2_b: u32, fc_w: u32, fc_b: u32, mproj_w: u32, mproj_b: u32,
  layer_w: u32, layer_b: u32,
  eps: f32, scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> params: array<f32>;            // the parameter arena
@group(0) @binding(2) var<storage, read> tokens: array<u32>;            // (B,W)
@group(0) @binding(3) var<storage, read> pos: array<u32>;               // (B)
@group(0) @binding(4) var<storage, read_write> k_cache: array<f32>;     // (L, cache_stride) ⊃ (L,B,NH,maxT,HS)
@group(0) @binding(5) var<storage, read_write> v_cache: array<f32>;     // (L, cache_stride)
@group(0) @binding(6) var<storage, read_write> work: array<f32>;        // (B, work_stride)
@group(0) @binding(7) var<storage, read_write> logits: array<f32>;      // (B,V)

override WG: u32 = 64u; // threads per workgroup: 16 or 64
override R: u32 = 1u;   // rows per workgroup, 1 ≤ R ≤ R_MAX
const R_MAX: u32 = 4u;

// matvec epilogues (otherwise out = acc + bias)
const MM_ADD: u32 = 1u;      // out += acc + bias (residual)
const MM_GELU: u32 = 2u;     // out = gelu(acc + bias)
const MM_QKV: u32 = 3u;      // q → out, k and v → cache slot s (the KV-cache append)
const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const LOWEST: f32 = -0x1.fffffep+127f;

var<workgroup> red: array<vec4f, WG>;
var<workgroup> row_s: array<u32, R_MAX>;      // each row's position s (NONE: the row does nothing)
var<workgroup> row_token: array<u32, R_MAX>;  // the token it reads
const NONE: u32 = 0xffffffffu;

// Every thread returns Σ x over the workgroup (a lane per row, see row_at), summed in thread order.
fn row_sums(lid: u32, x: vec4f) -> vec4f {
  red[lid] = x;
  workgroupBarrier();
  var s = vec4f();
  for (var j = 0u; j < WG; j++) { s += red[j]; }
  workgroupBarrier();
  return s;
}

// Scratch offset of the workgroup's row r, clamped to its last row (r ≥ R) and to row B − 1 (rows past B): never
// another workgroup's row. Clamped rows repeat a row's work; their results are not written.
fn row_at(b0: u32, r: u32) -> u32 {
  return min(b0 + min(r, R - 1u), p.B - 1u) * p.work_stride;
}

// Per row: work[row + dst..+C) = LayerNorm(work[row + src..+C)) with weight params[w..], bias params[bias..]
// (offsets relative to the row's scratch). The rows' statistics go together, one vector lane per row.
fn layernorm(lid: u32, b0: u32, src: u32, dst: u32, w: u32, bias: u32) {
  let C = p.C;
  let rows = vec4u(row_at(b0, 0u), row_at(b0, 1u), row_at(b0, 2u), row_at(b0, 3u)) + src;
  var part = vec4f();
  for (var c = lid; c < C; c += WG) { part += vec4f(work[rows.x + c], work[rows.y + c], work[rows.z + c], work[rows.w + c]); }
  let mean = row_sums(lid, part) / f32(C);
  part = vec4f();
  for (var c = lid; c < C; c += WG) {
    let d = vec4f(work[rows.x + c], work[rows.y + c], work[rows.z + c], work[rows.w + c]) - mean;
    part += d * d;
  }
  let rstd = 1.0 / sqrt(row_sums(lid, part) / f32(C) + p.eps);
  for (var r = 0u; r < min(R, p.B - b0); r++) {
    let row = (b0 + r) * p.work_stride;
    for (var c = lid; c < C; c += WG) {
      work[row + dst + c] = (work[row + src + c] - mean[r]) * rstd[r] * params[w + c] + params[bias + c];
    }
  }
  storageBarrier();
}

// GPT-2's tanh GELU in the sigmoid form, as gelu_forward and the matmul epilogue.
fn gelu(x: f32) -> f32 {
  let u = clamp(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x), -40.0, 40.0);
  return x / (1.0 + exp(-2.0 * u));
}

// Accumulator r of a thread's R rows.
fn pick(r: u32, a0: vec4f, a1: vec4f, a2: vec4f, a3: vec4f) -> vec4f {
  return select(select(select(a0, a1, r == 1u), a2, r == 2u), a3, r == 3u);
}

// Per row: (K) work[row + src..] · (K,N) params[w..] + params[bias..] → work[row + dst..] per `mode`; MM_QKV sends
// columns ≥ C (k, v) to cache slot s of the row's heads in layer l instead. Column j of a block of 4 reads column
// min(j, N − 1), so any N works; the clamped duplicates are not written.
fn matvec(lid: u32, b0: u32, src: u32, K: u32, N: u32, w: u32, bias: u32, dst: u32, mode: u32, l: u32) {
  let rows = min(R, p.B - b0);
  for (var n0 = 4u * lid; n0 < N; n0 += 4u * WG) {
    let last = N - 1u;
    let cols = vec4u(n0, min(n0 + 1u, last), min(n0 + 2u, last), min(n0 + 3u, last));
    // Rows past B read row B − 1 (their results are not written); R is constant per pipeline, so the unused
    // accumulators compile away.
    let x0 = row_at(b0, 0u) + src;
    let x1 = row_at(b0, 1u) + src;
    let x2 = row_at(b0, 2u) + src;
    let x3 = row_at(b0, 3u) + src;
    var acc0 = vec4f();   // named, not an array: a dynamically indexed array would live in memory, not registers
    var acc1 = vec4f();
    var acc2 = vec4f();
    var acc3 = vec4f();
    for (var k = 0u; k < K; k++) {
      let wk = w + k * N;
      let wv = vec4f(params[wk + cols.x], params[wk + cols.y], params[wk + cols.z], params[wk + cols.w]);
      acc0 += work[x0 + k] * wv;
      if (R > 1u) { acc1 += work[x1 + k] * wv; }
      if (R > 2u) { acc2 += work[x2 + k] * wv; }
      if (R > 3u) { acc3 += work[x3 + k] * wv; }
    }
    let bv = vec4f(params[bias + cols.x], params[bias + cols.y], params[bias + cols.z], params[bias + cols.w]);
    for (var r = 0u; r < rows; r++) {
      let out = (b0 + r) * p.work_stride + dst;
      let acc = pick(r, acc0, acc1, acc2, acc3) + bv;
      for (var j = 0u; j < min(4u, N - n0); j++) {
        let n = n0 + j;
        let v = acc[j];
        if (mode == MM_ADD) {
          work[out + n] += v;
        } else if (mode == MM_GELU) {
          work[out + n] = gelu(v);
        } else if (mode == MM_QKV && n >= p.C) {
          let s = row_s[r];
          if (s != NONE) {
            let c = (n - p.C) % p.C;
            let HS = p.C / p.NH;
            let at = l * p.cache_stride + (((b0 + r) * p.NH + c / HS) * p.maxT + s) * HS + c % HS;
            if (n < 2u * p.C) { k_cache[at] = v; } else { v_cache[at] = v; }
          }
        } else {
          work[out + n] = v;
        }
      }
    }
  }
  storageBarrier();
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let b0 = wid.x * R;
  if (lid < R) {
    let b = b0 + lid;
    var s = NONE;
    var token = 0u;
    if (b < p.B) {
      s = pos[b] + p.offset;
      if (s < p.W && s < p.maxT) { token = tokens[b * p.W + s]; } else { s = NONE; }
    }
    row_s[lid] = s;
    row_token[lid] = token;
  }
  workgroupBarrier();

  let C = p.C;
  let NH = p.NH;
  let HS = C / NH;
  let maxT = p.maxT;
  // Offsets in a row's scratch.
  let x = 0u;                  // (C) the residual stream
  let h = C;                   // (C) LayerNorm output
  let a = 2u * C;              // (4C) q (k and v go to the cache), then the MLP's hidden units
  let att = 6u * C;            // (C) attention output, heads concatenated
  let sums = 7u * C;           // (NH) softmax denominators
  let sc = sums + NH;          // (NH,maxT) scores, then exp(score − max)

  for (var r = 0u; r < R; r++) {
    let s = row_s[r];
    if (s == NONE) { continue; }
    let row = (b0 + r) * p.work_stride;
    for (var c = lid; c < C; c += WG) { work[row + x + c] = params[p.wte + row_token[r] * C + c] + params[p.wpe + s * C + c]; }
  }
  storageBarrier();

  for (var l = 0u; l < p.L; l++) {
    let lw = l * p.layer_w;
    let lb = l * p.layer_b;
    layernorm(lid, b0, x, h, p.ln1_w + lb, p.ln1_b + lb);
    matvec(lid, b0, h, C, 3u * C, p.attn_w + lw, p.attn_b + lb, a, MM_QKV, l);

    // ---- attention of q against cache slots 0..s, row by row ----
    for (var r = 0u; r < R; r++) {
      let s = row_s[r];
      if (s == NONE) { continue; }
      let row = (b0 + r) * p.work_stride;
      let heads = l * p.cache_stride + (b0 + r) * NH * maxT * HS;   // this layer's (NH,maxT,HS) block of the row
      let n_keys = s + 1u;
      for (var i = lid; i < NH * n_keys; i += WG) {
        let hd = i / n_keys;
        let j = i % n_keys;
        let kr = heads + (hd * maxT + j) * HS;
        var dot = 0.0;
        for (var d = 0u; d < HS; d++) { dot += work[row + a + hd * HS + d] * k_cache[kr + d]; }
        work[row + sc + hd * maxT + j] = dot * p.scale;
      }
    }
    storageBarrier();
    for (var r = 0u; r < R; r++) {
      let s = row_s[r];
      if (s == NONE) { continue; }
      let row = (b0 + r) * p.work_stride;
      for (var hd = lid; hd < NH; hd += WG) {
        let scores = row + sc + hd * maxT;
        var m = LOWEST;
        for (var j = 0u; j <= s; j++) { m = max(m, work[scores + j]); }
        var sum = 0.0;
        for (var j = 0u; j <= s; j++) {
          let e = exp(work[scores + j] - m);
          work[scores + j] = e;
          sum += e;
        }
        work[row + sums + hd] = sum;
      }
    }
    storageBarrier();
    for (var r = 0u; r < R; r++) {
      let s = row_s[r];
      if (s == NONE) { continue; }
      let row = (b0 + r) * p.work_stride;
      let heads = l * p.cache_stride + (b0 + r) * NH * maxT * HS;
      for (var c = lid; c < C; c += WG) {
        let hd = c / HS;
        let vr = heads + hd * maxT * HS + c % HS;
        var acc = 0.0;
        for (var j = 0u; j <= s; j++) { acc += work[row + sc + hd * maxT + j] * v_cache[vr + j * HS]; }
        work[row + att + c] = acc / work[row + sums + hd];
      }
    }
    storageBarrier();
    matvec(lid, b0, att, C, C, p.aproj_w + lw, p.aproj_b + lb, x, MM_ADD, l);

    // ---- MLP ----
    layernorm(lid, b0, x, h, p.ln2_w + lb, p.ln2_b + lb);
    matvec(lid, b0, h, C, 4u * C, p.fc_w + lw, p.fc_b + lb, a, MM_GELU, l);
    matvec(lid, b0, a, 4u * C, C, p.mproj_w + lw, p.mproj_b + lb, x, MM_ADD, l);
  }

  // ---- ln_f and the tied LM head: logits[v] = Σ_k h[k]·wte[v,k], 4 vocabulary rows per thread ----
  layernorm(lid, b0, x, h, p.ln_f_w, p.ln_f_b);
  let V = p.V;
  for (var v0 = 4u * lid; v0 < V; v0 += 4u * WG) {
    let last = V - 1u;
    let rows_v = vec4u(v0, min(v0 + 1u, last), min(v0 + 2u, last), min(v0 + 3u, last)) * C + p.wte;
    let x0 = row_at(b0, 0u) + h;
    let x1 = row_at(b0, 1u) + h;
    let x2 = row_at(b0, 2u) + h;
    let x3 = row_at(b0, 3u) + h;
    var acc0 = vec4f();
    var acc1 = vec4f();
    var acc2 = vec4f();
    var acc3 = vec4f();
    for (var k = 0u; k < C; k++) {
      let wv = vec4f(params[rows_v.x + k], params[rows_v.y + k], params[rows_v.z + k], params[rows_v.w + k]);
      acc0 += work[x0 + k] * wv;
      if (R > 1u) { acc1 += work[x1 + k] * wv; }
      if (R > 2u) { acc2 += work[x2 + k] * wv; }
      if (R > 3u) { acc3 += work[x3 + k] * wv; }
    }
    for (var r = 0u; r < R; r++) {
      if (row_s[r] == NONE) { continue; }
      let acc = pick(r, acc0, acc1, acc2, acc3);
      for (var j = 0u; j < min(4u, V - v0); j++) { logits[(b0 + r) * V + v0 + j] = acc[j]; }
    }
  }
}
