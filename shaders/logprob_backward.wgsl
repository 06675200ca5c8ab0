// logprob_backward: gradient of logprobs[n] = log_softmax(logits[n,:]/τ)[tokens[n]] (logprob_forward.wgsl):
//   dlogits[n,i] = dlogprobs[n]·([i = tokens[n]] − softmax(logits[n,:]/τ)[i]) / τ
// (dlogits += … when p.accumulate = 1, e.g. when PPO and KL terms both reach the same logits).
// softmax comes from the forward's saved stats: p_i = exp((z_i − max z) − log Σ exp(z − max z)), z = logits/τ.
// Shapes: N = B·T rows, V vocabulary. logits, dlogits (N,V); tokens, dlogprobs (N); stats (N,2).
// A token ≥ V gives a NaN gradient row.
// Parallel: one thread per element (n, i), 256 per workgroup, coalesced along i; no reduction is needed.
// The grid folds into (x, y) past 65535 workgroups.
struct Params { n: u32, v: u32, accumulate: u32, temperature: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;          // (N,V)
@group(0) @binding(2) var<storage, read> tokens: array<u32>;          // (N)
@group(0) @binding(3) var<storage, read> stats: array<f32>;           // (N,2) (max z, log Σ exp(z − max z))
@group(0) @binding(4) var<storage, read> dlogprobs: array<f32>;       // (N)
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;   // (N,V)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let idx = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (idx >= p.n * p.v) { return; }
  let n = idx / p.v;
  let i = idx - n * p.v;
  let inv_t = 1.0 / p.temperature;
  let t = tokens[n];
  var g: f32;
  if (t >= p.v) {
    var nan_bits = 0x7fc00000u;   // a runtime var: a constant NaN is a WGSL compile error
    g = bitcast<f32>(nan_bits);
  } else {
    let prob = exp((logits[idx] * inv_t - stats[2u * n]) - stats[2u * n + 1u]);
    g = dlogprobs[n] * (select(0.0, 1.0, i == t) - prob) * inv_t;
  }
  if (p.accumulate == 1u) { dlogits[idx] += g; } else { dlogits[idx] = g; }
}
