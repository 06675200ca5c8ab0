// sample_forward: draws one token per row from softmax(logits/τ) restricted by top-k and top-p, with a seeded
// counter-based RNG, and writes it with its log-probability into the row's sequence buffer.
// Row b samples the token at position q = pos[b] + offset, from the logits of position q − 1:
//   gather = 0: logits (B,1,V), row b's only logits row (cached decoding computes just the last position);
//   gather = 1: logits (B,Tl,V), row b's row q − 1 (a full-context forward).
// Exact semantics (src/reference/sample.ts implements the same, in float64):
//   z = logits row (f32), M = max z, e_i = exp((z_i − M)/τ), S = Σ_i e_i.
//   Order: i before j iff key(z_i) > key(z_j), or equal keys and i < j. key() maps the f32 bits to a u32 with the
//     same order as the values (ties broken by lower index; -0 sorts below +0).
//   top-k (0 < k < V, else off): keep the first k tokens of that order.
//   top-p (p < 1, else off): of the top-k set, keep the shortest prefix of the order whose mass Σ e ≥ p·(top-k mass).
//   Draw: u = (hash(s_b, r_b, q) >> 8)·2⁻²⁴ ∈ [0,1), where (s_b, r_b) = streams[b] is row b's RNG stream (a seed
//     and a row counter, the caller's: a row draws the same tokens in whatever batch it is generated);
//     K = Σ_kept e; pick the smallest index i (index order, not the sorted order) whose running sum of kept e up
//     to i exceeds u·K.
//   hash(s, r, q) = mix(mix(mix(s ^ 0x9E3779B9) ^ r) ^ q), mix = lowbias32 (x ^= x>>16; x *= 0x7feb352d;
//     x ^= x>>15; x *= 0x846ca68b; x ^= x>>16), all u32 arithmetic wrapping: the same in WGSL and TypeScript.
//   τ = 0: greedy — the first index of the maximum logit; top-k/top-p and the RNG are not used.
//   logprob = log_softmax(z/τ)[id] = (z_id − M)/τ − log S over the FULL vocabulary (no top-k/top-p truncation —
//     the policy's log-probability PPO needs); for τ = 0 it is log_softmax(z)[id] (τ = 1).
//   Nothing is written when q ≥ W, or (gather) when q = 0 or q − 1 ≥ Tl.
// Shapes: logits (B,Tl,V); pos (B) u32; streams (B) vec2<u32>; ids (B,W) u32 and logprobs (B,W) — each row's
// whole sequence (prompt, then sampled ids), written at column q only.
// Legend: B rows, Tl logits positions per row, V vocabulary, W sequence buffer width.
// Parallel: one workgroup of WG threads per row (WG = 64, or 16 for small vocabularies and on CPU-emulated adapters,
// where each thread of a workgroup with barriers costs a coroutine; the grid folds into (x, y) past 65535 rows); thread t owns the contiguous columns
// [t·CH, (t+1)·CH), CH = ⌈V/WG⌉. The top-k/top-p cut (the last kept element of the order) is
// found without sorting, by radix select on the u32 keys: 8 passes of 4-bit digits, most significant first, each
// a 16-bin histogram (of counts for top-k, of probability mass for top-p) of the elements matching the digits
// chosen so far, summed over the workgroup in a fixed order; then one round over the elements tied at the cut key,
// whose per-thread partials thread 0 scans in index order. Every count and sum is a fixed-order reduction in
// workgroup memory (deterministic); thread 0 likewise walks the WG partial sums of the kept mass, then the chosen
// thread's columns, to invert the CDF.
struct Params { B: u32, Tl: u32, V: u32, W: u32, offset: u32, gather: u32, top_k: u32,
                temperature: f32, top_p: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;           // (B,Tl,V)
@group(0) @binding(2) var<storage, read> pos: array<u32>;              // (B)
@group(0) @binding(3) var<storage, read_write> ids: array<u32>;        // (B,W)
@group(0) @binding(4) var<storage, read_write> logprobs: array<f32>;   // (B,W)
@group(0) @binding(5) var<storage, read> streams: array<vec2u>;        // (B): (seed, row counter)

override WG: u32 = 64u; // threads per workgroup: 16 or 64 (the launcher's choice by V); ≥ BINS
override G: u32 = 8u;   // √WG: reductions sum G groups of G values, then the G group sums
const BINS: u32 = 16u;  // radix-select digit: 4 bits, 8 passes over a 32-bit key
const LOWEST: f32 = -0x1.fffffep+127f;
const NO_INDEX: u32 = 0xffffffffu;

var<workgroup> red_f: array<f32, WG>;
var<workgroup> red_u: array<u32, WG>;
var<workgroup> red2_f: array<f32, G>;
var<workgroup> red2_u: array<u32, G>;
var<workgroup> hist: array<f32, BINS * WG>;   // (BINS,WG): every thread's partial histogram
var<workgroup> bins: array<f32, BINS>;        // the workgroup's histogram
var<workgroup> shared_u: u32;                 // a value thread 0 computed, broadcast with workgroupUniformLoad

// Two barriers per reduction; every thread returns the same value, summed in the same fixed order.
fn sum_f(lid: u32, x: f32) -> f32 {
  red_f[lid] = x;
  workgroupBarrier();
  if (lid < G) {
    var s = 0.0;
    for (var j = 0u; j < G; j++) { s += red_f[lid * G + j]; }
    red2_f[lid] = s;
  }
  workgroupBarrier();
  var s = 0.0;
  for (var j = 0u; j < G; j++) { s += red2_f[j]; }
  return s;
}

// Sums the threads' histograms into `bins` (bin v by thread v, over threads in order); read after the return.
fn sum_hist(lid: u32, h: array<f32, BINS>) {
  for (var v = 0u; v < BINS; v++) { hist[v * WG + lid] = h[v]; }
  workgroupBarrier();
  if (lid < BINS) {
    var s = 0.0;
    for (var j = 0u; j < WG; j++) { s += hist[lid * WG + j]; }
    bins[lid] = s;
  }
  workgroupBarrier();
}

// Order-preserving map of f32 bits to u32: negative values flip all bits, non-negative ones set the sign bit.
fn key_of(z: f32) -> u32 {
  let b = bitcast<u32>(z);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

// Does `key` start with the digits chosen in the passes before `round` (prefix holds 4·round bits)?
fn matches(key: u32, round: u32, prefix: u32) -> bool {
  return round == 0u || (key >> (32u - 4u * round)) == prefix;
}

fn mix32(x0: u32) -> u32 {
  var x = x0;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

fn uniform01(seed: u32, row: u32, q: u32) -> f32 {
  let h = mix32(mix32(mix32(seed ^ 0x9e3779b9u) ^ row) ^ q);
  return f32(h >> 8u) * (1.0 / 16777216.0);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let b = wid.y * nwg.x + wid.x;
  if (b >= p.B) { return; }   // uniform: the same for the whole workgroup
  if (lid == 0u) { shared_u = pos[b] + p.offset; }
  let q = workgroupUniformLoad(&shared_u);
  if (q >= p.W) { return; }
  var t = 0u;
  if (p.gather != 0u) {
    if (q == 0u || q - 1u >= p.Tl) { return; }
    t = q - 1u;
  }
  let V = p.V;
  let base = (b * p.Tl + t) * V;
  let CH = (V + WG - 1u) / WG;
  let lo = min(V, lid * CH);
  let hi = min(V, lo + CH);

  // ---- max and first argmax ----
  var m = LOWEST;
  var am = NO_INDEX;
  for (var i = lo; i < hi; i++) {
    let z = logits[base + i];
    if (am == NO_INDEX || z > m) { m = z; am = i; }
  }
  red_f[lid] = m;
  red_u[lid] = am;
  workgroupBarrier();
  if (lid < G) {
    var gm = LOWEST;
    var ga = NO_INDEX;
    for (var j = 0u; j < G; j++) {   // threads in index order: strictly greater keeps the lowest index
      let a = red_u[lid * G + j];
      if (a != NO_INDEX && (ga == NO_INDEX || red_f[lid * G + j] > gm)) { gm = red_f[lid * G + j]; ga = a; }
    }
    red2_f[lid] = gm;
    red2_u[lid] = ga;
  }
  workgroupBarrier();
  var M = LOWEST;
  var amax = NO_INDEX;
  for (var j = 0u; j < G; j++) {
    let a = red2_u[j];
    if (a != NO_INDEX && (amax == NO_INDEX || red2_f[j] > M)) { M = red2_f[j]; amax = a; }
  }

  let greedy = p.temperature == 0.0;
  let inv_t = select(1.0 / p.temperature, 1.0, greedy);

  // ---- S = Σ exp((z − M)/τ) over the whole vocabulary (the log-probability's normaliser) ----
  var part = 0.0;
  for (var i = lo; i < hi; i++) { part += exp((logits[base + i] - M) * inv_t); }
  let S = sum_f(lid, part);

  var id = amax;
  if (!greedy) {
    // ---- top-k cut: the k-th element of the order, as (key θk, index jk) ----
    var theta_k = 0u;
    var j_k = V;   // keeps everything when top-k is off
    if (p.top_k > 0u && p.top_k < V) {
      var prefix = 0u;
      var need = p.top_k;   // elements still to take among those matching prefix
      for (var round = 0u; round < 8u; round++) {
        let shift = 28u - 4u * round;
        var h: array<f32, BINS>;   // counts < 2^24 are exact in f32
        for (var v = 0u; v < BINS; v++) { h[v] = 0.0; }
        for (var i = lo; i < hi; i++) {
          let kz = key_of(logits[base + i]);
          if (matches(kz, round, prefix)) { h[(kz >> shift) & 15u] += 1.0; }
        }
        sum_hist(lid, h);
        var cum = 0u;
        var digit = 0u;
        var above = 0u;
        var found = false;
        for (var v = 0u; v < BINS; v++) {   // digits from the top
          let c = u32(bins[BINS - 1u - v]);
          if (!found && cum + c >= need) { digit = BINS - 1u - v; above = cum; found = true; }
          cum += c;
        }
        need -= above;
        prefix = (prefix << 4u) | digit;
      }
      theta_k = prefix;
      // `need` tied elements at θk are kept, lowest indices first: find the need-th one.
      var c = 0u;
      for (var i = lo; i < hi; i++) { c += select(0u, 1u, key_of(logits[base + i]) == theta_k); }
      red_u[lid] = c;
      workgroupBarrier();
      if (lid == 0u) {
        var acc = 0u;
        var owner = 0u;
        for (var j = 0u; j < WG; j++) {
          if (acc + red_u[j] >= need) { owner = j; break; }
          acc += red_u[j];
        }
        let olo = min(V, owner * CH);
        let ohi = min(V, olo + CH);
        var cut = V;
        for (var i = olo; i < ohi; i++) {
          if (key_of(logits[base + i]) == theta_k) {
            acc += 1u;
            if (acc == need) { cut = i; break; }
          }
        }
        shared_u = cut;
      }
      j_k = workgroupUniformLoad(&shared_u);
    }

    // ---- top-p cut within the top-k set, as (key θp, index jp) ----
    var theta_p = 0u;
    var j_p = V;
    if (p.top_p < 1.0) {
      var mk = 0.0;
      for (var i = lo; i < hi; i++) {
        let z = logits[base + i];
        let kz = key_of(z);
        if (kz > theta_k || (kz == theta_k && i <= j_k)) { mk += exp((z - M) * inv_t); }
      }
      let goal = p.top_p * sum_f(lid, mk);
      var prefix = 0u;
      var above = 0.0;   // mass of the top-k set strictly above the digits chosen so far
      for (var round = 0u; round < 8u; round++) {
        let shift = 28u - 4u * round;
        var h: array<f32, BINS>;
        for (var v = 0u; v < BINS; v++) { h[v] = 0.0; }
        for (var i = lo; i < hi; i++) {
          let z = logits[base + i];
          let kz = key_of(z);
          if (matches(kz, round, prefix) && (kz > theta_k || (kz == theta_k && i <= j_k))) {
            h[(kz >> shift) & 15u] += exp((z - M) * inv_t);
          }
        }
        sum_hist(lid, h);
        var cum = 0.0;
        var digit = 0u;
        var found = false;
        var low = 0u;         // fallback if rounding leaves the goal unreached: the lowest digit with mass
        var low_above = 0.0;
        for (var v = 0u; v < BINS; v++) {
          let d = BINS - 1u - v;
          let mass = bins[d];
          if (!found && above + cum + mass >= goal) { digit = d; found = true; low_above = cum; }
          if (!found && mass > 0.0) { low = d; low_above = cum; }
          cum += mass;
        }
        if (!found) { digit = low; }
        above += low_above;
        prefix = (prefix << 4u) | digit;
      }
      theta_p = prefix;
      // Tied elements at θp are taken lowest index first until the mass reaches the goal.
      var s = 0.0;
      for (var i = lo; i < hi; i++) {
        let z = logits[base + i];
        let kz = key_of(z);
        if (kz == theta_p && (kz > theta_k || (kz == theta_k && i <= j_k))) { s += exp((z - M) * inv_t); }
      }
      red_f[lid] = s;
      workgroupBarrier();
      if (lid == 0u) {
        var acc = above;
        var owner = NO_INDEX;
        for (var j = 0u; j < WG; j++) {
          if (acc + red_f[j] >= goal) { owner = j; break; }
          acc += red_f[j];
        }
        var cut = V;   // goal unreached (rounding): keep every tied element
        if (owner != NO_INDEX) {
          let olo = min(V, owner * CH);
          let ohi = min(V, olo + CH);
          for (var i = olo; i < ohi; i++) {
            let z = logits[base + i];
            let kz = key_of(z);
            if (kz == theta_p && (kz > theta_k || (kz == theta_k && i <= j_k))) {
              acc += exp((z - M) * inv_t);
              if (acc >= goal) { cut = i; break; }
            }
          }
        }
        shared_u = cut;
      }
      j_p = workgroupUniformLoad(&shared_u);
    }

    // ---- inverse CDF over the kept tokens, in index order ----
    var kept = 0.0;
    for (var i = lo; i < hi; i++) {
      let z = logits[base + i];
      let kz = key_of(z);
      let keep = (kz > theta_k || (kz == theta_k && i <= j_k)) && (kz > theta_p || (kz == theta_p && i <= j_p));
      if (keep) { kept += exp((z - M) * inv_t); }
    }
    red_f[lid] = kept;
    workgroupBarrier();
    if (lid != 0u) { return; }
    var K = 0.0;
    for (var j = 0u; j < WG; j++) { K += red_f[j]; }
    let r = uniform01(streams[b].x, streams[b].y, q) * K;
    var acc = 0.0;
    var owner = NO_INDEX;
    var last = 0u;   // fallback when rounding puts r at the very end: the last thread holding mass
    for (var j = 0u; j < WG; j++) {
      let pj = red_f[j];
      if (pj > 0.0) { last = j; }
      if (owner == NO_INDEX && acc + pj > r) { owner = j; }
      if (owner == NO_INDEX) { acc += pj; }
    }
    if (owner == NO_INDEX) {
      owner = last;
      acc = K - red_f[last];
    }
    let olo = min(V, owner * CH);
    let ohi = min(V, olo + CH);
    id = NO_INDEX;
    var last_i = amax;
    for (var i = olo; i < ohi; i++) {
      let z = logits[base + i];
      let kz = key_of(z);
      let keep = (kz > theta_k || (kz == theta_k && i <= j_k)) && (kz > theta_p || (kz == theta_p && i <= j_p));
      if (keep) {
        let e = exp((z - M) * inv_t);
        if (e > 0.0) { last_i = i; }
        acc += e;
        if (id == NO_INDEX && acc > r) { id = i; }
      }
    }
    if (id == NO_INDEX) { id = last_i; }
  }
  if (lid != 0u) { return; }
  ids[b * p.W + q] = id;
  logprobs[b * p.W + q] = (logits[base + id] - M) * inv_t - log(S);
}
