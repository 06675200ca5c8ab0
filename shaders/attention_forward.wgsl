// attention_forward: causal multi-head self-attention, fused (flash-attention style, no T×T matrix anywhere):
//   out[b,t,h] = Σ_{t2≤t} softmax_t2(scale·q[b,t,h]·k[b,t2,h]) · v[b,t2,h],   scale = 1/√HS
//   lse[b,h,t] = log Σ_{t2≤t} exp(scale·q·k[t2])   (saved for attention_backward_dq/dkv)
// Shapes: qkv (B,T,3C) is GPT-2's c_attn output: q at channels [0,C), k at [C,2C), v at [2C,3C), head h at
// channels h·HS..(h+1)·HS of each; out (B,T,C) heads concatenated; lse (B,NH,T).
// Legend: B batch, T sequence length, C channels, NH heads, HS = C/NH head size (≤ MAX_HS).
// Parallel: workgroup (query block x, head h = y, batch b = z) of BQ threads, one thread per query t, holding
// scale·q and the output accumulator in private arrays. Keys/values of (b,h) stream through workgroup memory in
// tiles of BK rows (2·BK·HS floats, 4 KiB at most), only up to the block's last query (causal). Per tile each thread
// scores its visible keys (t2 ≤ t), rescales its running (max m, sum l, output o) once by exp(m_old − m_new)
// (online softmax), then accumulates p·v. Tile reads are broadcasts (all threads read the same key), so no bank
// conflicts; tile loads are contiguous HS-runs of qkv.
struct Params { T: u32, C: u32, NH: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;        // (B,T,3C)
@group(0) @binding(2) var<storage, read_write> out: array<f32>;  // (B,T,C)
@group(0) @binding(3) var<storage, read_write> lse: array<f32>;  // (B,NH,T)

override HS: u32 = 64;  // head size; the launcher specialises one pipeline per HS so the d-loops unroll
override BQ: u32 = 64;  // queries per workgroup = threads per workgroup
override BK: u32 = 8;   // keys per tile (≤ MAX_BK; the launcher keeps 2·BK·HS·4 bytes ≤ 4 KiB)
const MAX_HS: u32 = 128u; // private arrays must have a constant length
const MAX_BK: u32 = 64u;

var<workgroup> k_tile: array<f32, BK * HS>; // (BK,HS)
var<workgroup> v_tile: array<f32, BK * HS>; // (BK,HS)

@compute @workgroup_size(BQ)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wid.y;
  let b = wid.z;
  let q0 = wid.x * BQ;
  let t = q0 + lid;
  let in_seq = t < p.T; // ragged last block: idle threads still help load tiles and reach the barriers
  let C3 = 3u * p.C;
  let row0 = b * p.T; // token index of (b, 0)

  var q: array<f32, MAX_HS>;
  var o: array<f32, MAX_HS>;
  if (in_seq) {
    let qbase = (row0 + t) * C3 + h * HS;
    for (var d = 0u; d < HS; d++) {
      q[d] = p.scale * qkv[qbase + d];
      o[d] = 0.0;
    }
  }
  var m = -3.0e38; // running max of the scores (finite, so exp(m − m_new) is 0, never NaN)
  var l = 0.0;     // running Σ exp(score − m)

  let kv_end = min(p.T, q0 + BQ); // the block's queries see keys [0, kv_end)
  for (var k0 = 0u; k0 < kv_end; k0 += BK) {
    let n = min(BK, kv_end - k0);
    for (var i = lid; i < n * HS; i += BQ) {
      let g = (row0 + k0 + i / HS) * C3 + h * HS + i % HS;
      k_tile[i] = qkv[g + p.C];
      v_tile[i] = qkv[g + 2u * p.C];
    }
    workgroupBarrier();
    if (in_seq && k0 <= t) {
      let nk = min(n, t - k0 + 1u); // keys t2 ≤ t of this tile
      var s: array<f32, MAX_BK>;
      var m_new = m;
      for (var j = 0u; j < nk; j++) {
        var dot = 0.0;
        for (var d = 0u; d < HS; d++) { dot += q[d] * k_tile[j * HS + d]; }
        s[j] = dot;
        m_new = max(m_new, dot);
      }
      let corr = exp(m - m_new);
      l *= corr;
      for (var d = 0u; d < HS; d++) { o[d] *= corr; }
      for (var j = 0u; j < nk; j++) {
        let pj = exp(s[j] - m_new);
        l += pj;
        for (var d = 0u; d < HS; d++) { o[d] += pj * v_tile[j * HS + d]; }
      }
      m = m_new;
    }
    workgroupBarrier(); // the next tile overwrites k_tile/v_tile
  }

  if (in_seq) {
    // key 0 is always visible and its term is ≥ exp(0) relative to the max, so l ≥ 1
    let inv_l = 1.0 / l;
    let obase = (row0 + t) * p.C + h * HS;
    for (var d = 0u; d < HS; d++) { out[obase + d] = o[d] * inv_l; }
    lse[(b * p.NH + h) * p.T + t] = m + log(l);
  }
}
