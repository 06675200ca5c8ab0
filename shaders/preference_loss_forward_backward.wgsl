// preference_loss_forward_backward: the direct preference losses over K-way rankings, all C(K,2) pairs of one prompt in
// one batch element (as the reward model's ranking loss), fused with the gradient in the policy's log-probs:
//   z_b        = Σ_t w_bt·(logp_bt − ref_logp_bt)   (row b's sequence log-ratio against the frozen reference)
//   rewards[b] = β·z_b                              (the implicit reward)
//   losses[g]  = 1/C(K,2)·Σ_{i<j} ℓ(z_i − z_j) over the rows i < j of group g, ordered best → worst, with
//                ℓ(h) = −log σ(β·h) = softplus(−β·h)   LOSS = 0: sigmoid DPO (Rafailov et al. 2023)
//                ℓ(h) = (h − 1/(2β))²                  LOSS = 1: IPO (Azar et al. 2023)
//   dlogp      = gradScale·∂(Σ_g losses[g])/∂logp = w_bt·gradScale/C(K,2)·Σ_pairs ∂ℓ/∂z_b, exactly 0 where w = 0.
// w is the response mask (PackedBatch.mask: 1 where the target is a response token). Where w = 0, logp and
// ref_logp are never read (they may hold anything, NaN included).
// Stable for any log-ratio gap: softplus(x) = max(x, 0) + log1p(e^−|x|) and σ from e^−|x|, so nothing overflows.
// Groups are given by offsets: group g is rows offsets[g] .. offsets[g+1]−1 with 2 ≤ K_g ≤ MAX_K. The caller
// validates offsets on the CPU (validatePreferenceGroups). On the GPU a malformed group (K < 2, K > MAX_K, or rows
// past B) gives a NaN loss, NaN rewards and NaN gradients at its w ≠ 0 positions rather than training silently;
// rows outside every group get NaN rewards and a zero gradient. Each row is written by the one group that binary
// search over offsets assigns it to, so even garbage offsets leave one writer per element; loops stay bounded by B.
// Shapes: G groups, B sequences (rows), T positions. logp, ref_logp, weights, dlogp (B·T); offsets (G+1) u32;
// losses (G); rewards (B).
// Parallel: one workgroup of 256 threads per group (a group's K·T positions are contiguous), plus one workgroup for
// the rows outside every group (nothing to do with valid offsets); the grid folds into (x, y) past 65535. In a
// group, 16 lanes per row sum strided positions (≤ 16 loads each for the lab's T ≤ 256), each row's 16 lane sums
// are added in a fixed pairwise tree, the threads k < K then form row k's pair terms, and all 256 threads stride
// over the K·T positions writing dlogp (coalesced). 3 barriers; every output element has one writer and a fixed
// summation order: race-free and deterministic.
struct Params { g: u32, b: u32, t: u32, beta: f32, grad_scale: f32 }

override LOSS: u32 = 0u;   // 0 = sigmoid DPO, 1 = IPO

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logp: array<f32>;            // (B·T) policy log π(y_t | …)
@group(0) @binding(2) var<storage, read> ref_logp: array<f32>;        // (B·T) frozen reference policy's
@group(0) @binding(3) var<storage, read> weights: array<f32>;         // (B·T) response mask w
@group(0) @binding(4) var<storage, read> offsets: array<u32>;         // (G+1) group g = rows offsets[g]..offsets[g+1]−1
@group(0) @binding(5) var<storage, read_write> losses: array<f32>;    // (G)
@group(0) @binding(6) var<storage, read_write> rewards: array<f32>;   // (B)
@group(0) @binding(7) var<storage, read_write> dlogp: array<f32>;     // (B·T)

const WG: u32 = 256u;
const MAX_K: u32 = 16u;          // rows per group (InstructGPT ranks K ≤ 9); the launcher's PREFERENCE_MAX_K
const LANES: u32 = WG / MAX_K;   // threads summing one row

var<workgroup> partial: array<f32, WG>;      // lane sums, row k's at k·LANES ..
var<workgroup> z: array<f32, MAX_K>;         // row log-ratios
var<workgroup> coef: array<f32, MAX_K>;      // gradScale/C(K,2)·Σ_pairs ∂ℓ/∂z_k
var<workgroup> row_loss: array<f32, MAX_K>;  // Σ_{j>k} ℓ(z_k − z_j)

fn nan() -> f32 {
  var bits = 0x7fc00000u;   // a runtime var: a constant NaN is a WGSL compile error
  return bitcast<f32>(bits);
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

// ℓ(h) of a pair whose preferred row leads by h in log-ratio
fn pair_loss(h: f32) -> f32 {
  if (LOSS == 1u) {
    let d = h - 0.5 / p.beta;
    return d * d;
  }
  return softplus(-p.beta * h);
}

// ∂ℓ/∂h
fn pair_grad(h: f32) -> f32 {
  if (LOSS == 1u) { return 2.0 * (h - 0.5 / p.beta); }
  return -p.beta * sigmoid(-p.beta * h);
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

// Row k's log-ratio from its LANES lane sums, added as a fixed pairwise tree (k, k+8), (k, k+4), … in registers.
fn row_sum(k: u32) -> f32 {
  var v: array<f32, LANES>;
  for (var l = 0u; l < LANES; l++) { v[l] = partial[k * LANES + l]; }
  for (var w = LANES / 2u; w > 0u; w /= 2u) {
    for (var l = 0u; l < w; l++) { v[l] += v[l + w]; }
  }
  return v[0];
}

// Rows outside every group (row < offsets[0] or ≥ offsets[G], only with malformed offsets): no loss depends on
// them (zero gradient) and no group computes their reward (NaN).
fn outside_rows(lid: u32) {
  let a = min(offsets[0], p.b);                  // rows 0 .. a−1 lie before the first group
  let e = max(min(offsets[p.g], p.b), a);        // rows e .. B−1 after the last (disjoint from the first range)
  for (var r = lid; r < a; r += WG) { rewards[r] = nan(); }
  for (var r = e + lid; r < p.b; r += WG) { rewards[r] = nan(); }
  for (var i = lid; i < a * p.t; i += WG) { dlogp[i] = 0.0; }
  for (var i = e * p.t + lid; i < p.b * p.t; i += WG) { dlogp[i] = 0.0; }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let g = wid.y * nwg.x + wid.x;
  if (g > p.g) { return; }   // the folded grid's spare workgroups
  if (g == p.g) {
    outside_rows(lid);
    return;
  }

  let lo = offsets[g];
  let hi = offsets[g + 1u];
  let valid = hi >= lo && hi - lo >= 2u && hi - lo <= MAX_K && hi <= p.b;   // no u32 wrap for garbage offsets
  let K = select(0u, hi - lo, valid);   // a malformed group reads nothing

  // 1. lane sums: row lid / LANES, positions lid % LANES, + LANES, …
  let k = lid / LANES;
  var s = 0.0;
  if (k < K) {
    let base = (lo + k) * p.t;
    for (var t = lid % LANES; t < p.t; t += LANES) {
      let w = weights[base + t];
      if (w != 0.0) { s += w * (logp[base + t] - ref_logp[base + t]); }
    }
  }
  partial[lid] = s;
  workgroupBarrier();

  // 2. row log-ratios
  if (lid < K) { z[lid] = row_sum(lid); }
  workgroupBarrier();

  // 3. row lid's gradient coefficient over its K − 1 pairs, and the loss of its pairs with the rows below it
  let inv_pairs = 2.0 / f32(max(K * (K - 1u), 2u));
  if (lid < K) {
    var d = 0.0;
    var l = 0.0;
    for (var j = 0u; j < K; j++) {
      if (j < lid) { d -= pair_grad(z[j] - z[lid]); }   // pair (j, lid): lid is the dispreferred one
      else if (j > lid) {
        let h = z[lid] - z[j];
        d += pair_grad(h);
        l += pair_loss(h);
      }
    }
    coef[lid] = p.grad_scale * inv_pairs * d;
    row_loss[lid] = l;
  }
  workgroupBarrier();

  // NaN is written explicitly for a malformed group: WGSL does not promise that NaN propagates through arithmetic.
  if (lid == 0u) {
    var l = 0.0;
    for (var j = 0u; j < K; j++) { l += row_loss[j]; }
    losses[g] = select(nan(), inv_pairs * l, valid);
  }

  // 4. rewards and dlogp of the rows this group owns (all of rows lo .. hi−1 when offsets are valid)
  let r0 = min(lo, p.b);
  let r1 = min(max(hi, lo), p.b);
  for (var r = r0 + lid; r < r1; r += WG) {
    if (group_of(r) == g) {
      var v = nan();
      if (valid) { v = p.beta * z[r - lo]; }
      rewards[r] = v;
    }
  }
  var row = 0xffffffffu;   // the row of the last position this thread wrote, and what it found for it
  var own = false;
  var c = 0.0;
  for (var i = r0 * p.t + lid; i < r1 * p.t; i += WG) {
    let r = i / p.t;
    if (r != row) {
      row = r;
      own = group_of(r) == g;
      if (valid) { c = coef[r - lo]; }
    }
    if (own) {
      let w = weights[i];
      dlogp[i] = select(select(nan(), c * w, valid), 0.0, w == 0.0);   // +0 where w = 0 (c·0 could be −0)
    }
  }
}
