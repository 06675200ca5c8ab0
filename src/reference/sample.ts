// Float64 reference for token sampling (shaders/sample_forward.wgsl): temperature, top-k, top-p (nucleus), a seeded
// counter-based RNG and the sampled token's log-probability. Written plainly: sort, cut, walk the CDF.
// Semantics (identical to the kernel's; see its header):
//   z = logits row, M = max z, e_i = exp((z_i − M)/τ), S = Σ e_i.
//   Order: by f32 key descending (sampleKey: the f32 bit pattern mapped to an order-preserving u32), ties by lower
//     index. top-k (0 < k < V) keeps the first k of the order; top-p (p < 1) then keeps the shortest prefix of the
//     top-k order whose mass is ≥ p·(top-k mass).
//   u = sampleUniform(seed, row, position) ∈ [0,1); pick the smallest index i (index order) whose running sum of
//     kept e exceeds u·K, K = Σ_kept e.
//   τ = 0: greedy, the first index of the maximum; logprob then uses τ = 1.
//   logprob = (z_id − M)/τ − log S: under softmax(z/τ) over the full vocabulary (no top-k/top-p truncation).
// Shapes: V vocabulary size; one row of logits at a time.

export interface SampleOptions {
  /** τ ≥ 0; 0 is greedy. */
  temperature: number;
  /** Keep the k most likely tokens; 0 (default) or ≥ V is off. */
  topK?: number;
  /** Keep the smallest most-likely set with mass ≥ p; 1 (default) is off. */
  topP?: number;
}

export interface SampleResult {
  id: number;
  /** log softmax(z/τ)[id] over the full vocabulary (τ = 1 when greedy). */
  logprob: number;
  /** Which tokens top-k and top-p kept (all of them when both are off). */
  kept: Uint8Array; // (V)
  /**
   * How far the draw is from changing, relative to the mass involved: the smaller of (u·K to the nearest CDF
   * boundary)/K and (the top-p target to the nearest prefix mass)/(top-k mass); Infinity when greedy. A float32
   * kernel can only disagree with this reference when the margin is within its rounding (~1e-6).
   */
  margin: number;
}

/** lowbias32 (Chris Wellons): a bijective u32 mixer; u32 arithmetic wraps exactly as in WGSL. */
export function mix32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** The counter-based RNG: hash(seed, row, position) = mix(mix(mix(seed ^ 0x9E3779B9) ^ row) ^ position). */
export function sampleHash(seed: number, row: number, position: number): number {
  return mix32(mix32(mix32((seed ^ 0x9e3779b9) >>> 0) ^ row) ^ position);
}

/** Uniform in [0,1) with 24 random bits: exactly representable in f32, so the kernel sees the same number. */
export function sampleUniform(seed: number, row: number, position: number): number {
  return (sampleHash(seed, row, position) >>> 8) / 16777216;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Order-preserving u32 key of a value rounded to f32 (negatives flip all bits, others set the sign bit). */
export function sampleKey(z: number): number {
  f32[0] = z;
  const b = u32[0];
  return (b & 0x80000000 ? ~b : b | 0x80000000) >>> 0;
}

// logits (V), u ∈ [0,1) → the sampled id, its log-probability, the kept set and the decision's margin
export function sampleForward(logits: ArrayLike<number>, V: number, u: number, options: SampleOptions): SampleResult {
  const { temperature } = options;
  const topK = options.topK ?? 0;
  const topP = options.topP ?? 1;
  let M = -Infinity;
  let argmax = 0;
  for (let i = 0; i < V; i++) {
    if (logits[i] > M) {
      M = logits[i];
      argmax = i;
    }
  }
  const greedy = temperature === 0;
  const invT = greedy ? 1 : 1 / temperature;
  const e = new Float64Array(V);
  let S = 0;
  for (let i = 0; i < V; i++) {
    e[i] = Math.exp((logits[i] - M) * invT);
    S += e[i];
  }
  const logprobOf = (id: number) => (logits[id] - M) * invT - Math.log(S);
  const kept = new Uint8Array(V);
  if (greedy) {
    kept[argmax] = 1;
    return { id: argmax, logprob: logprobOf(argmax), kept, margin: Infinity };
  }

  // The order: key descending, lower index first among equal keys.
  const keys = Array.from({ length: V }, (_, i) => sampleKey(logits[i]));
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => keys[b] - keys[a] || a - b);
  let n = topK > 0 && topK < V ? topK : V;
  let margin = Infinity;
  if (topP < 1) {
    let mk = 0;
    for (let r = 0; r < n; r++) mk += e[order[r]];
    const target = topP * mk;
    let cum = 0;
    let L = n;
    for (let r = 0; r < n; r++) {
      const before = cum;
      cum += e[order[r]];
      if (cum >= target) {
        L = r + 1;
        // With nothing before it, a shorter prefix does not exist: only the upper side can flip.
        margin = (r > 0 ? Math.min(target - before, cum - target) : cum - target) / mk;
        break;
      }
    }
    n = L;
  }
  for (let r = 0; r < n; r++) kept[order[r]] = 1;

  let K = 0;
  for (let i = 0; i < V; i++) if (kept[i]) K += e[i];
  const target = u * K;
  let cum = 0;
  let id = -1;
  let lastPositive = argmax;
  for (let i = 0; i < V; i++) {
    if (!kept[i]) continue;
    if (e[i] > 0) lastPositive = i;
    const before = cum;
    cum += e[i];
    if (cum > target) {
      id = i;
      margin = Math.min(margin, before > 0 ? (target - before) / K : Infinity, (cum - target) / K);
      break;
    }
  }
  if (id < 0) id = lastPositive; // u·K at the very end (only by rounding)
  return { id, logprob: logprobOf(id), kept, margin };
}

/** The distribution sampling draws from: e renormalised over the kept set (one-hot on the argmax when greedy). */
export function sampleDistribution(logits: ArrayLike<number>, V: number, options: SampleOptions): Float64Array {
  const { kept } = sampleForward(logits, V, 0, options);
  const M = Math.max(...Array.from({ length: V }, (_, i) => logits[i]));
  const invT = options.temperature === 0 ? 1 : 1 / options.temperature;
  const probs = new Float64Array(V);
  let K = 0;
  for (let i = 0; i < V; i++) if (kept[i]) K += probs[i] = Math.exp((logits[i] - M) * invT);
  for (let i = 0; i < V; i++) probs[i] /= K;
  return probs;
}
