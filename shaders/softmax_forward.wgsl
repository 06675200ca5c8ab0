// softmax_forward: out[r, c] = exp(s·x[r, c] − m_r) / Σ_c' exp(s·x[r, c'] − m_r),  m_r = max_c s·x[r, c]
// (subtracting the row max keeps every exp ≤ 1, so ±1e4 logits stay finite; the row max term is exp(0) = 1, so
// the sum is ≥ 1 and the division is safe). s is the input scale (1 for a plain softmax).
// Causal variant (p.causal_t = T > 0): rows come in blocks of T (e.g. attention scores (B,NH,T,T) viewed as
// (B·NH·T, T)); row r is query t = r % T and columns c > t are masked: left out of max and sum, written as 0.
// Column 0 is always visible, so no row is ever fully masked.
// Shapes: inp (R, L), out (R, L); R rows of length L, any L ≥ 1.
// Parallel: one workgroup of WG threads per row (WG a power of 2 ≤ 256 chosen by the launcher: ≥ L up to 256,
// so short rows don't idle most of a big workgroup). Each thread keeps an online (max, sum) over columns
// lid, lid + WG, …; the WG partial pairs are combined by a fixed-order tree in workgroup memory, then every
// thread writes its columns. Two reads of the row, one write. Rows fold into (x, y) past 65535 workgroups.
struct Params { rows: u32, cols: u32, causal_t: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> inp: array<f32>;         // (R, L)
@group(0) @binding(2) var<storage, read_write> out: array<f32>;   // (R, L)

override WG: u32 = 256;

var<workgroup> red_max: array<f32, WG>;
var<workgroup> red_sum: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= p.rows) { return; } // uniform across the workgroup
  let base = row * p.cols;
  // Columns [0, n) are visible.
  var n = p.cols;
  if (p.causal_t > 0u) { n = min(p.cols, row % p.causal_t + 1u); }

  // Online max/sum over this thread's columns: when the max grows, the old sum is rescaled by exp(old − new).
  var m = -3.0e38;
  var s = 0.0;
  for (var c = lid; c < n; c += WG) {
    let v = p.scale * inp[base + c];
    if (v > m) {
      s = s * exp(m - v) + 1.0;
      m = v;
    } else {
      s += exp(v - m);
    }
  }
  red_max[lid] = m;
  red_sum[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      let m1 = red_max[lid];
      let m2 = red_max[lid + stride];
      let mm = max(m1, m2);
      // A thread with no columns has sum 0, so its exp(−3e38 − mm) = 0 factor never matters.
      red_sum[lid] = red_sum[lid] * exp(m1 - mm) + red_sum[lid + stride] * exp(m2 - mm);
      red_max[lid] = mm;
    }
    workgroupBarrier();
  }
  let row_max = red_max[0];
  let inv_sum = 1.0 / red_sum[0];

  for (var c = lid; c < p.cols; c += WG) {
    var y = 0.0;
    if (c < n) { y = exp(p.scale * inp[base + c] - row_max) * inv_sum; }
    out[base + c] = y;
  }
}
