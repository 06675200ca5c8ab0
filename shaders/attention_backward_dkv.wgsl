// attention_backward_dkv: the key and value gradients of attention_forward (flash-attention-2 backward, key side):
//   P[t,t2] = exp(scale·q_t·k_t2 − lse_t),  D_t = Σ_d dout[t,d]·out[t,d],  dS = P·(dout_t·v_t2 − D_t)
//   dv_t2 = Σ_{t≥t2} P[t,t2]·dout_t,    dk_t2 = scale · Σ_{t≥t2} dS[t,t2]·q_t
// Writes channels [C,3C) of dqkv; attention_backward_dq writes [0,C).
// Shapes: qkv (B,T,3C), out (B,T,C), dout (B,T,C), lse (B,NH,T), dqkv (B,T,3C). Legend as attention_forward.
// Parallel: workgroup (key block x, head y, batch z) of BKV threads, one per key t2, holding scale·k, v and the
// dk/dv accumulators in private arrays. Queries t ≥ the block's first key stream through workgroup memory in
// tiles of BQ rows: q and dout rows, plus lse_t and D_t (D recomputed per tile from out and dout: HS flops per
// query per key block, negligible next to the BKV·HS per query of the main loop, and it spares a scratch
// buffer and a dispatch). Each dk/dv row is owned by one thread, summed in query order: no races, deterministic.
struct Params { T: u32, C: u32, NH: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;         // (B,T,3C)
@group(0) @binding(2) var<storage, read> out: array<f32>;         // (B,T,C) forward output
@group(0) @binding(3) var<storage, read> dout: array<f32>;        // (B,T,C)
@group(0) @binding(4) var<storage, read> lse: array<f32>;         // (B,NH,T) from attention_forward
@group(0) @binding(5) var<storage, read_write> dqkv: array<f32>;  // (B,T,3C), channels [C,3C) written here

override HS: u32 = 64;
override BKV: u32 = 64; // keys per workgroup = threads per workgroup
override BQ: u32 = 7;   // queries per tile (the launcher keeps (2·BQ·HS + 2·BQ)·4 bytes ≤ 4 KiB)
const MAX_HS: u32 = 128u;

var<workgroup> q_tile: array<f32, BQ * HS>; // (BQ,HS) unscaled q
var<workgroup> g_tile: array<f32, BQ * HS>; // (BQ,HS) dout
var<workgroup> lse_tile: array<f32, BQ>;
var<workgroup> d_tile: array<f32, BQ>;

@compute @workgroup_size(BKV)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wid.y;
  let b = wid.z;
  let k0 = wid.x * BKV;
  let j = k0 + lid; // this thread's key
  let in_seq = j < p.T;
  let C3 = 3u * p.C;
  let row0 = b * p.T;

  var k: array<f32, MAX_HS>;
  var v: array<f32, MAX_HS>;
  var dk: array<f32, MAX_HS>;
  var dv: array<f32, MAX_HS>;
  if (in_seq) {
    let kbase = (row0 + j) * C3 + p.C + h * HS;
    for (var d = 0u; d < HS; d++) {
      k[d] = p.scale * qkv[kbase + d];
      v[d] = qkv[kbase + p.C + d];
      dk[d] = 0.0;
      dv[d] = 0.0;
    }
  }

  // Queries t ≥ k0 see some key of this block (causal).
  for (var i0 = k0; i0 < p.T; i0 += BQ) {
    let n = min(BQ, p.T - i0);
    for (var i = lid; i < n * HS; i += BKV) {
      let r = i0 + i / HS;
      let d = i % HS;
      q_tile[i] = qkv[(row0 + r) * C3 + h * HS + d];
      g_tile[i] = dout[(row0 + r) * p.C + h * HS + d];
    }
    for (var r = lid; r < n; r += BKV) {
      let obase = (row0 + i0 + r) * p.C + h * HS;
      var D = 0.0;
      for (var d = 0u; d < HS; d++) { D += dout[obase + d] * out[obase + d]; }
      d_tile[r] = D;
      lse_tile[r] = lse[(b * p.NH + h) * p.T + i0 + r];
    }
    workgroupBarrier();
    if (in_seq && j < i0 + n) {
      // queries t ≥ j of this tile
      let r_start = select(0u, j - i0, j > i0);
      for (var r = r_start; r < n; r++) {
        var s = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < HS; d++) {
          s += q_tile[r * HS + d] * k[d];
          dp += g_tile[r * HS + d] * v[d];
        }
        let pr = exp(s - lse_tile[r]);
        let ds = pr * (dp - d_tile[r]);
        for (var d = 0u; d < HS; d++) {
          dv[d] += pr * g_tile[r * HS + d];
          dk[d] += ds * q_tile[r * HS + d];
        }
      }
    }
    workgroupBarrier();
  }

  if (in_seq) {
    let kbase = (row0 + j) * C3 + p.C + h * HS;
    for (var d = 0u; d < HS; d++) {
      dqkv[kbase + d] = p.scale * dk[d];
      dqkv[kbase + p.C + d] = dv[d];
    }
  }
}
