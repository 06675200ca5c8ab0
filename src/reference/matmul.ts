// Float64 reference for matmul (shaders/matmul_regblock.wgsl, matmul_tiled.wgsl, matmul_backward_bias.wgsl):
//   out[z][i, j] = act(Σ_l op(A)[z][i, l] · op(B)[z][l, j] + bias[j]),  op(X) = X or Xᵀ, act = identity or GELU.
import { geluForward } from './gelu';

export interface MatmulShape {
  m: number;
  k: number;
  n: number;
  batch?: number;
  /** op(A) = Aᵀ: A stored (K, M) instead of (M, K). */
  transA?: boolean;
  /** op(B) = Bᵀ: B stored (N, K) instead of (K, N). */
  transB?: boolean;
  /** Per-batch element offsets of A and B; default dense, 0 = the same matrix for every batch. */
  strideA?: number;
  strideB?: number;
}

function layout(s: MatmulShape) {
  const { m, k, n } = s;
  const sa = s.strideA ?? m * k;
  const sb = s.strideB ?? k * n;
  // Flat index of op(A)[z][i, l] and op(B)[z][l, j] in the stored arrays.
  const ai = (z: number, i: number, l: number) => z * sa + (s.transA ? l * m + i : i * k + l);
  const bi = (z: number, l: number, j: number) => z * sb + (s.transB ? j * k + l : l * n + j);
  return { batch: s.batch ?? 1, ai, bi };
}

// a (batch, M, K | K, M), b (batch, K, N | N, K), bias (N) or null → out (batch, M, N)
export function matmulForward(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  shape: MatmulShape,
  gelu = false,
): Float64Array {
  const { m, k, n } = shape;
  const { batch, ai, bi } = layout(shape);
  const out = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = bias ? bias[j] : 0;
        for (let l = 0; l < k; l++) sum += a[ai(z, i, l)] * b[bi(z, l, j)];
        out[(z * m + i) * n + j] = sum;
      }
    }
  }
  return gelu ? geluForward(out) : out;
}

// dout (batch, M, N) of out = op(A)·op(B) + bias (no activation) →
//   da (like a) = dout·op(B)ᵀ, db (like b) = op(A)ᵀ·dout, dbias (N) = Σ rows of dout.
// Gradients of a matrix shared by several batches (stride 0) are summed over those batches.
export function matmulBackward(
  dout: ArrayLike<number>,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  shape: MatmulShape,
): { da: Float64Array; db: Float64Array; dbias: Float64Array } {
  const { m, k, n } = shape;
  const { batch, ai, bi } = layout(shape);
  const da = new Float64Array(a.length);
  const db = new Float64Array(b.length);
  const dbias = new Float64Array(n);
  for (let z = 0; z < batch; z++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const d = dout[(z * m + i) * n + j];
        dbias[j] += d;
        for (let l = 0; l < k; l++) {
          da[ai(z, i, l)] += d * b[bi(z, l, j)];
          db[bi(z, l, j)] += d * a[ai(z, i, l)];
        }
      }
    }
  }
  return { da, db, dbias };
}
