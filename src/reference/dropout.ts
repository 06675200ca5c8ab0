// Float64 reference for dropout (shaders/dropout_forward.wgsl, dropout_backward.wgsl): the same counter-based
// PCG hash in 32-bit integer arithmetic, so the mask matches the GPU's bit for bit.

export interface DropoutKey {
  /** The model's dropout seed. */
  seed: number;
  /** Which forward pass (the model counts them), so every step draws a fresh mask. */
  step: number;
  /** Which dropout layer within the forward pass. */
  site: number;
}

/** PCG's output permutation of one 32-bit state (Jarzynski & Olano 2020), as in the shaders. */
export function pcgHash(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** ⌊p·2³²⌋: element i is kept when its hash is ≥ this. */
export function dropoutThreshold(p: number): number {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  return Math.min(Math.floor(p * 2 ** 32), 0xffffffff);
}

// → keep (N): 1 where element i survives
export function dropoutMask(n: number, p: number, key: DropoutKey): Uint8Array {
  const threshold = dropoutThreshold(p);
  const k = pcgHash((pcgHash((pcgHash(key.seed) ^ key.step) >>> 0) ^ key.site) >>> 0);
  const keep = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const h = pcgHash((pcgHash((i ^ k) >>> 0) + k) >>> 0);
    keep[i] = h >= threshold ? 1 : 0;
  }
  return keep;
}

// inp (N) → out (N) = keep·inp/(1−p)
export function dropoutForward(inp: ArrayLike<number>, p: number, key: DropoutKey): Float64Array {
  const keep = dropoutMask(inp.length, p, key);
  const scale = 1 / (1 - p);
  return Float64Array.from(inp, (x, i) => (keep[i] ? x * scale : 0));
}

// dout (N) → dinp (N) = keep·dout/(1−p)
export function dropoutBackward(dout: ArrayLike<number>, p: number, key: DropoutKey): Float64Array {
  return dropoutForward(dout, p, key);
}
