// ranking_loss_forward_backward: the InstructGPT reward-model loss (Ouyang et al. 2022) over K-way rankings, all
// C(K,2) pairs of one prompt in one batch element, fused with its gradient:
//   r_i        = scores[row_i·T + last[row_i]]   (the scalar head at each sequence's final token)
//   losses[g]  = −1/C(K,2)·Σ_{i<j} log σ(r_i − r_j) = 1/C(K,2)·Σ_{i<j} softplus(r_j − r_i)
//                over the rows i < j of group g, ordered best → worst (i is preferred to j)
//   dscores    = gradScale·∂(Σ_g losses[g])/∂scores: at row i's last position
//                gradScale/C(K,2)·(Σ_{j<i} σ(r_i − r_j) − Σ_{j>i} σ(r_j − r_i)), exactly 0 everywhere else.
// Stable for any score gap: softplus(x) = max(x, 0) + log1p(e^−|x|) (exact for |x| up to 1e4 and beyond) and σ
// from e^−|x|, so nothing overflows.
// Groups are given by offsets: group g is rows offsets[g] .. offsets[g+1]−1 (K_g ≥ 2). The caller validates
// offsets and last on the CPU (validateRankingGroups). On the GPU a malformed group (K < 2, or rows past B) or a
// last[row] ≥ T gives NaN loss and NaN gradients in that group rather than training silently; rows outside every
// group get a zero gradient. Loops stay bounded by B whatever offsets hold.
// Shapes: G groups, B sequences (rows), T positions. scores, dscores (B·T) (e.g. (B,T,1)); last (B) u32;
// offsets (G+1) u32; losses (G).
// Parallel: one thread per element of dscores (coalesced writes, so no separate zero fill): the thread at a row's
// last position finds the row's group by binary search over offsets and sums its K−1 pairs in a fixed order; the
// threads i < G also each compute group i's loss over its C(K,2) pairs (K ≤ 9 in InstructGPT: tiny). Every output
// element has exactly one writer and a fixed summation order: race-free and deterministic. 256 threads per
// workgroup over max(B·T, G) threads; the grid folds into (x, y) past 65535 workgroups.
struct Params { g: u32, b: u32, t: u32, grad_scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> scores: array<f32>;          // (B·T) scalar head output, every position
@group(0) @binding(2) var<storage, read> last: array<u32>;            // (B) final-token position of each row
@group(0) @binding(3) var<storage, read> offsets: array<u32>;         // (G+1) group g = rows offsets[g]..offsets[g+1]−1
@group(0) @binding(4) var<storage, read_write> losses: array<f32>;    // (G)
@group(0) @binding(5) var<storage, read_write> dscores: array<f32>;   // (B·T)

fn nan() -> f32 {
  var bits = 0x7fc00000u;   // a runtime var: a constant NaN is a WGSL compile error
  return bitcast<f32>(bits);
}

// r of a row: its score at its last position (clamped into the row; ok() tells whether it was inside).
fn reward(row: u32) -> f32 {
  return scores[row * p.t + min(last[row], p.t - 1u)];
}

fn ok(row: u32) -> bool {
  return last[row] < p.t;
}

// log(1 + z) for z in [0, 1]: a series where 1 + z would round z away, the built-in log elsewhere.
fn log1p_unit(z: f32) -> f32 {
  if (z < 0.0625) { return z * (1.0 - z * (0.5 - z * (1.0 / 3.0 - z * (0.25 - z * 0.2)))); }   // error < z⁶/6
  return log(1.0 + z);
}

fn softplus(x: f32) -> f32 {
  return max(x, 0.0) + log1p_unit(exp(-abs(x)));
}

fn sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));   // ≤ 1: never overflows
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}

// The group holding `row`, or G when no group does (binary search; terminates for any offsets).
fn group_of(row: u32) -> u32 {
  if (row < offsets[0] || row >= offsets[p.g]) { return p.g; }
  var lo = 0u;
  var hi = p.g;   // offsets[lo] ≤ row < offsets[hi]
  while (hi - lo > 1u) {
    let mid = (lo + hi) / 2u;
    if (offsets[mid] <= row) { lo = mid; } else { hi = mid; }
  }
  return lo;
}

// Whether group rows [lo, hi) form a valid group (K ≥ 2, inside B).
fn well_formed(lo: u32, hi: u32) -> bool {
  return hi >= lo + 2u && hi <= p.b;
}

// 1/C(K,2) for a group of K = hi − lo ≥ 2 rows.
fn inv_pairs(lo: u32, hi: u32) -> f32 {
  let k = f32(hi - lo);
  return 2.0 / (k * (k - 1.0));
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;

  // NaN is written explicitly for a malformed group: WGSL does not promise that NaN propagates through arithmetic.
  if (i < p.b * p.t) {
    let row = i / p.t;
    var grad = 0.0;
    if (i - row * p.t == last[row]) {
      let g = group_of(row);
      if (g < p.g) {
        let lo = offsets[g];
        let hi = min(offsets[g + 1u], p.b);   // bounded loops even for garbage offsets
        let r = reward(row);
        var s = 0.0;
        var valid = well_formed(lo, offsets[g + 1u]);
        for (var j = lo; j < hi; j++) {
          valid = valid && ok(j);
          if (j < row) { s += sigmoid(r - reward(j)); }         // pair (j, row): softplus(r − r_j)
          else if (j > row) { s -= sigmoid(reward(j) - r); }    // pair (row, j): softplus(r_j − r)
        }
        grad = select(nan(), p.grad_scale * inv_pairs(lo, hi) * s, valid);
      }
    }
    dscores[i] = grad;
  }

  if (i < p.g) {
    let lo = offsets[i];
    let hi = min(offsets[i + 1u], p.b);
    var s = 0.0;
    var valid = well_formed(lo, offsets[i + 1u]);
    for (var a = lo; a < hi; a++) {
      valid = valid && ok(a);
      let ra = reward(a);
      for (var b = a + 1u; b < hi; b++) { s += softplus(reward(b) - ra); }
    }
    losses[i] = select(nan(), inv_pairs(lo, hi) * s, valid);
  }
}
