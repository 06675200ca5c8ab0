// Seeded random numbers: every test input is reproducible from its seed.
import { seededRandom } from '../../src/model/data';

/** mulberry32, the generator the code itself uses. */
export const rng = seededRandom;

/** n values uniform in [lo, hi), rounded to f32 so CPU and GPU see the same inputs. */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** n standard-normal values (Box–Muller), scaled by `std`. */
export function normal(n: number, seed: number, std = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => std * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}

/** n integers uniform in [0, k). */
export function integers(n: number, k: number, seed: number): Uint32Array {
  const r = rng(seed);
  return Uint32Array.from({ length: n }, () => Math.floor(r() * k));
}
