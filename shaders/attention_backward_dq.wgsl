// attention_backward_dq: the query gradient of attention_forward (flash-attention-2 backward, query side):
//   P[t,t2] = exp(scale·q_t·k_t2 − lse_t)  (t2 ≤ t; recomputed from the saved lse, never stored)
//   D_t = Σ_d dout[t,d]·out[t,d]          (= Σ_t2 P[t,t2]·dP[t,t2], the softmax backward's row dot)
//   dP[t,t2] = dout_t·v_t2,  dS = P·(dP − D_t),  dq_t = scale · Σ_{t2≤t} dS[t,t2]·k_t2
// Writes channels [0,C) of dqkv; attention_backward_dkv writes [C,3C).
// Shapes: qkv (B,T,3C), out (B,T,C), dout (B,T,C), lse (B,NH,T), dqkv (B,T,3C). Legend as attention_forward.
// Parallel: like attention_forward: workgroup (query block x, head y, batch z) of BQ threads, one per query,
// with q, dout and the dq accumulator private; K/V tiles of BK rows streamed through workgroup memory up to the
// block's last query. Each dq row is owned by one thread and summed in key order: no races, deterministic.
struct Params { T: u32, C: u32, NH: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;         // (B,T,3C)
@group(0) @binding(2) var<storage, read> out: array<f32>;         // (B,T,C) forward output
@group(0) @binding(3) var<storage, read> dout: array<f32>;        // (B,T,C)
@group(0) @binding(4) var<storage, read> lse: array<f32>;         // (B,NH,T) from attention_forward
@group(0) @binding(5) var<storage, read_write> dqkv: array<f32>;  // (B,T,3C), channels [0,C) written here

override HS: u32 = 64;
override BQ: u32 = 64;
override BK: u32 = 8;
const MAX_HS: u32 = 128u;

var<workgroup> k_tile: array<f32, BK * HS>; // (BK,HS)
var<workgroup> v_tile: array<f32, BK * HS>; // (BK,HS)

@compute @workgroup_size(BQ)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wid.y;
  let b = wid.z;
  let q0 = wid.x * BQ;
  let t = q0 + lid;
  let in_seq = t < p.T;
  let C3 = 3u * p.C;
  let row0 = b * p.T;

  var q: array<f32, MAX_HS>;
  var g: array<f32, MAX_HS>; // dout_t
  var dq: array<f32, MAX_HS>;
  var D = 0.0;
  var L = 0.0;
  if (in_seq) {
    let qbase = (row0 + t) * C3 + h * HS;
    let obase = (row0 + t) * p.C + h * HS;
    for (var d = 0u; d < HS; d++) {
      q[d] = p.scale * qkv[qbase + d];
      g[d] = dout[obase + d];
      D += g[d] * out[obase + d];
      dq[d] = 0.0;
    }
    L = lse[(b * p.NH + h) * p.T + t];
  }

  let kv_end = min(p.T, q0 + BQ);
  for (var k0 = 0u; k0 < kv_end; k0 += BK) {
    let n = min(BK, kv_end - k0);
    for (var i = lid; i < n * HS; i += BQ) {
      let gi = (row0 + k0 + i / HS) * C3 + h * HS + i % HS;
      k_tile[i] = qkv[gi + p.C];
      v_tile[i] = qkv[gi + 2u * p.C];
    }
    workgroupBarrier();
    if (in_seq && k0 <= t) {
      let nk = min(n, t - k0 + 1u);
      for (var j = 0u; j < nk; j++) {
        var s = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < HS; d++) {
          s += q[d] * k_tile[j * HS + d];
          dp += g[d] * v_tile[j * HS + d];
        }
        let ds = exp(s - L) * (dp - D);
        for (var d = 0u; d < HS; d++) { dq[d] += ds * k_tile[j * HS + d]; }
      }
    }
    workgroupBarrier();
  }

  if (in_seq) {
    let qbase = (row0 + t) * C3 + h * HS;
    for (var d = 0u; d < HS; d++) { dqkv[qbase + d] = p.scale * dq[d]; }
  }
}
