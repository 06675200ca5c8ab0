// attention_decode: causal multi-head attention of a few new tokens against a layer's KV cache (generation).
//   s = pos[b] + offset + i  (position of new token i of row b),
//   out[b,i,h] = Σ_{j≤s} softmax_j(scale·q[b,i,h]·k_cache[b,h,j]) · v_cache[b,h,j],   scale = 1/√HS
// kv_cache_write must already have stored this step's keys/values (slots pos[b]+offset .. +Tn−1), so token i sees
// the new tokens before it and itself, exactly as attention_forward's causal mask does. A query whose position is
// ≥ maxT has no cache row: its output is left untouched.
// Shapes: qkv (B,Tn,3C) this step's c_attn output (only its q channels [0,C) are read); k_cache, v_cache
// (B,NH,maxT,HS); pos (B) u32; out (B,Tn,C) heads concatenated.
// Legend: B batch, Tn new tokens per row, C channels, NH heads, HS = C/NH ≤ 128 head size, maxT cache slots.
// Parallel: one workgroup of WG threads (64, or 16 on CPU-emulated adapters, where every thread of a workgroup with
// barriers costs a coroutine) per (new token i = x, head h = y, row b = z). Keys go in chunks of up to 256: each
// thread scores keys lid, lid + WG, … (a contiguous HS-row of the cache each) into workgroup memory; a fixed-order
// reduction gives the chunk's max, the scores become exp(score − m_new) in place and a second reduction their
// sum, folded into the running (max m, sum l) every thread keeps (online softmax, deterministic). For the values,
// with HS < WG thread t owns channel t mod HS and the keys ≡ ⌊t/HS⌋ (mod ⌊WG/HS⌋), so all threads work even for
// small heads, and the groups' partial outputs are summed in a fixed order at the end; with HS ≥ WG thread t owns
// channels t, t + WG, … over all keys. Reads of a value row are contiguous across threads.
struct Params { Tn: u32, C: u32, NH: u32, maxT: u32, offset: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;            // (B,Tn,3C)
@group(0) @binding(2) var<storage, read> k_cache: array<f32>;        // (B,NH,maxT,HS)
@group(0) @binding(3) var<storage, read> v_cache: array<f32>;        // (B,NH,maxT,HS)
@group(0) @binding(4) var<storage, read> pos: array<u32>;            // (B)
@group(0) @binding(5) var<storage, read_write> out: array<f32>;      // (B,Tn,C)

override HS: u32 = 64;   // head size ≤ 128; one pipeline per HS, as attention_forward
override WG: u32 = 64u;  // threads per workgroup: 16 or 64
override G: u32 = 8u;    // √WG: reductions combine G groups of G values, then the G group results
const MAX_CPT: u32 = 8u; // channels per thread when HS ≥ WG: HS/WG ≤ 128/16
const CHUNK: u32 = 256u; // scores held in workgroup memory at a time (1 KiB; SwiftShader compile time grows with it)
const LOWEST: f32 = -0x1.fffffep+127f;

var<workgroup> q_s: array<f32, HS>;     // scale·q of this (b, i, h)
var<workgroup> sc: array<f32, CHUNK>;   // the chunk's scores, then their exp(score − m_new)
var<workgroup> red: array<f32, WG>;
var<workgroup> red2: array<f32, G>;
var<workgroup> n_keys: u32;

fn max_all(lid: u32, x: f32) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  if (lid < G) {
    var r = LOWEST;
    for (var j = 0u; j < G; j++) { r = max(r, red[lid * G + j]); }
    red2[lid] = r;
  }
  workgroupBarrier();
  var r = LOWEST;
  for (var j = 0u; j < G; j++) { r = max(r, red2[j]); }
  return r;
}

fn sum_all(lid: u32, x: f32) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  if (lid < G) {
    var r = 0.0;
    for (var j = 0u; j < G; j++) { r += red[lid * G + j]; }
    red2[lid] = r;
  }
  workgroupBarrier();
  var r = 0.0;
  for (var j = 0u; j < G; j++) { r += red2[j]; }
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = wid.x;
  let h = wid.y;
  let b = wid.z;
  let row = b * p.Tn + i;
  if (lid == 0u) {
    let s = pos[b] + p.offset + i;
    n_keys = select(s + 1u, 0u, s >= p.maxT);
  }
  for (var d = lid; d < HS; d += WG) { q_s[d] = p.scale * qkv[row * 3u * p.C + h * HS + d]; }
  // Uniform for the whole workgroup (it came from one thread), so the barriers below are in uniform control flow;
  // workgroupUniformLoad is also a barrier, which publishes q_s.
  let n = workgroupUniformLoad(&n_keys);
  if (n == 0u) { return; }

  let kv_base = (b * p.NH + h) * p.maxT * HS;
  let groups = max(1u, WG / HS);   // key groups sharing a channel (1 when HS ≥ WG)
  let d0 = lid % HS;               // first channel of this thread (= lid when HS ≥ WG)
  let g = lid / HS;                // this thread's key group; threads with g ≥ groups only help reduce
  let cpt = (HS + WG - 1u) / WG;   // channels d0, d0 + WG, … (those < HS)
  var m = LOWEST;
  var l = 0.0;
  var o: array<f32, MAX_CPT>;
  for (var c = 0u; c < MAX_CPT; c++) { o[c] = 0.0; }
  for (var c0 = 0u; c0 < n; c0 += CHUNK) {
    let cn = min(CHUNK, n - c0);
    var local_max = LOWEST;
    for (var j = lid; j < cn; j += WG) {
      let krow = kv_base + (c0 + j) * HS;
      var dot = 0.0;
      for (var d = 0u; d < HS; d++) { dot += q_s[d] * k_cache[krow + d]; }
      sc[j] = dot;
      local_max = max(local_max, dot);
    }
    let m_new = max(m, max_all(lid, local_max));
    var local_sum = 0.0;
    for (var j = lid; j < cn; j += WG) {   // the same j this thread scored: no other thread touches sc[j]
      let e = exp(sc[j] - m_new);
      sc[j] = e;
      local_sum += e;
    }
    let corr = exp(m - m_new);
    l = l * corr + sum_all(lid, local_sum);   // its barriers also publish sc
    for (var c = 0u; c < cpt; c++) { o[c] *= corr; }
    if (g < groups) {
      for (var j = g; j < cn; j += groups) {
        let pj = sc[j];
        let vrow = kv_base + (c0 + j) * HS + d0;
        for (var c = 0u; c < cpt; c++) {
          if (d0 + c * WG < HS) { o[c] += pj * v_cache[vrow + c * WG]; }
        }
      }
    }
    m = m_new;
    workgroupBarrier();   // the next chunk overwrites sc
  }
  // key 0 is always visible and the max term is exp(0) = 1, so l ≥ 1
  let obase = row * p.C + h * HS;
  if (HS >= WG) {
    for (var c = 0u; c < cpt; c++) {
      if (d0 + c * WG < HS) { out[obase + d0 + c * WG] = o[c] / l; }
    }
    return;
  }
  red[lid] = o[0];
  workgroupBarrier();
  if (lid < HS) {
    var acc = 0.0;
    for (var gg = 0u; gg < groups; gg++) { acc += red[gg * HS + lid]; }
    out[obase + lid] = acc / l;
  }
}
