// row_merge: the online-softmax merge of a row's (max, Σexp(x − max)) pairs over the TPR threads that share the row,
// a tree in workgroup memory. Included (`//! include row_merge`) by the per-row kernels that need a row's log-sum-exp
// (crossentropy_forward_backward, logprob_forward), after they declare the overrides WG (threads per workgroup) and
// TPR (threads per row, a power of two dividing WG; 1 = serial: no merge, no barrier).

var<workgroup> red_m: array<f32, WG>;
var<workgroup> red_s: array<f32, WG>;

// Merges the (max, Σexp(x − max)) pairs of the TPR threads of each row segment; every thread gets its row's
// pair. Called in uniform control flow by the whole workgroup.
fn row_merge(lid: u32, m: f32, s: f32) -> vec2f {
  if (TPR == 1u) { return vec2f(m, s); }   // serial: the thread already holds its row's pair
  let lane = lid % TPR;
  red_m[lid] = m;
  red_s[lid] = s;
  workgroupBarrier();
  for (var k = TPR / 2u; k > 0u; k >>= 1u) {
    if (lane < k) {
      let m1 = red_m[lid];
      let m2 = red_m[lid + k];
      let mx = max(m1, m2);
      red_s[lid] = red_s[lid] * exp(m1 - mx) + red_s[lid + k] * exp(m2 - mx);
      red_m[lid] = mx;
    }
    workgroupBarrier();
  }
  return vec2f(red_m[lid - lane], red_s[lid - lane]);   // read once: no barrier needed before reuse
}
