// The variant choice shared by the per-row kernels (layernorm_forward, layernorm_backward,
// crossentropy_forward_backward, logprob_forward): how many threads reduce one row. Both variants are the same
// WGSL, set by the override constants WG (threads per workgroup) and TPR (threads per row); both reduce in a
// fixed order, so results are deterministic on a given adapter (the two variants round differently).
//   tree:   TPR threads per row combine partial sums with a fixed-order tree in workgroup memory — many threads
//           per row, coalesced reads: fast on GPUs.
//   serial: one thread per row walks it in order — no workgroup memory, no barriers: fast on CPU-emulated
//           adapters (SwiftShader), where each barrier costs every thread of the workgroup a coroutine switch.
import type { GpuRuntime, Step } from '../gpu';

export type RowVariant = 'tree' | 'serial';
export const ROW_VARIANTS: readonly RowVariant[] = ['tree', 'serial'];

export interface RowOptions {
  /** Force a variant (tests, benchmarks); default: rowVariant(step.rt). */
  variant?: RowVariant;
}

/** Override constants of a per-row kernel: WG threads per workgroup, TPR threads per row (WG/TPR rows). */
export interface RowGeometry {
  WG: number;
  TPR: number;
}

/** Rows per workgroup of the serial variant (one thread each); layernorm_backward uses its 32-row chunk instead. */
const SERIAL_ROWS_PER_WORKGROUP = 64;

/** The variant per-row kernels use unless forced: serial on CPU-emulated adapters, tree on GPUs. */
export function rowVariant(rt: GpuRuntime): RowVariant {
  return rt.adapter.software ? 'serial' : 'tree';
}

/** The geometry of `variant`, given the tree variant's threads per row and (serial) rows per workgroup. */
export function rowGeometry(
  kernel: string,
  options: RowOptions,
  step: Step,
  tree: RowGeometry,
  serialRows = SERIAL_ROWS_PER_WORKGROUP,
): RowGeometry {
  const variant = options.variant ?? rowVariant(step.rt);
  if (variant === 'tree') return tree;
  if (variant === 'serial') return { WG: serialRows, TPR: 1 };
  throw new Error(`${kernel}: unknown variant "${variant}" (expected ${ROW_VARIANTS.join(' or ')})`);
}
