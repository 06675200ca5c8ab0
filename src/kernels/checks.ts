// Shape checks shared by the launchers: a wrong shape is a thrown error naming the kernel, never a silent
// out-of-bounds read on the GPU.
import type { Tensor } from '../gpu';

export function assertSameSize(kernel: string, ...ts: Tensor[]): void {
  const n = ts[0].size;
  for (const t of ts) if (t.size !== n) throw new Error(`${kernel}: ${t.label} has ${t.size} elements, expected ${n}`);
}

/** Asserts `t` holds exactly `size` elements (its shape may be any factorisation). */
export function assertSize(kernel: string, t: Tensor, size: number, what: string): void {
  if (t.size !== size) throw new Error(`${kernel}: ${t.label} (${what}) has ${t.size} elements, expected ${size}`);
}

export function assertDType(kernel: string, t: Tensor, dtype: Tensor['dtype']): void {
  if (t.dtype !== dtype) throw new Error(`${kernel}: ${t.label} must be ${dtype}, got ${t.dtype}`);
}
