// Central finite differences in float64: the independent check for every reference backward pass.
import { expectClose, type Tolerance } from './tolerance';

/** ∂f/∂x by (f(x+h) − f(x−h)) / 2h for each coordinate of x (x is restored afterwards). */
export function numericGradient(f: () => number, x: Float64Array, h = 1e-5): Float64Array {
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + h;
    const up = f();
    x[i] = saved - h;
    const down = f();
    x[i] = saved;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

/** Weighted-sum loss L = Σ w·y, so dL/dy = w: turns any vector function into a scalar to differentiate. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Float64 reference gradients agree with finite differences to ~1e-7 relative; 1e-6 leaves room for h². */
export const FD_TOLERANCE: Tolerance = { atol: 1e-6, rtol: 1e-5 };

export function expectGradient(analytic: ArrayLike<number>, f: () => number, x: Float64Array, what: string, tol = FD_TOLERANCE): void {
  expectClose(analytic, numericGradient(f, x), tol, `${what} vs finite differences`);
}
