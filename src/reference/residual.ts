// Float64 reference for the residual connection (shaders/residual_forward.wgsl, residual_backward.wgsl).

// a (N), b (N) → out (N)
export function residualForward(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

// dout (N) → da (N), db (N): out = a + b passes its gradient unchanged to both branches
export function residualBackward(dout: ArrayLike<number>): { da: Float64Array; db: Float64Array } {
  const da = new Float64Array(dout.length);
  const db = new Float64Array(dout.length);
  for (let i = 0; i < dout.length; i++) {
    da[i] += dout[i];
    db[i] += dout[i];
  }
  return { da, db };
}

// What residual_backward.wgsl computes for one branch: dinp (N) + scale·dout (N) (dinp = 0 when not accumulating)
export function residualAccumulate(dinp: ArrayLike<number>, dout: ArrayLike<number>, scale = 1): Float64Array {
  const out = new Float64Array(dout.length);
  for (let i = 0; i < dout.length; i++) out[i] = dinp[i] + scale * dout[i];
  return out;
}
