// Dispatch-size helpers shared by the launchers.

/** Largest workgroup count per dimension every WebGPU device supports. */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/**
 * Workgroups for `threads` threads in groups of `workgroupSize`, folded into (x, y) when x would pass the
 * per-dimension limit. Shaders rebuild the linear index as (wid.y * nwg.x + wid.x) * WG + lid.x.
 */
export function grid1d(threads: number, workgroupSize: number): [number, number] {
  const groups = Math.ceil(threads / workgroupSize);
  if (groups <= MAX_WORKGROUPS_PER_DIM) return [groups, 1];
  const y = Math.ceil(groups / MAX_WORKGROUPS_PER_DIM);
  return [Math.ceil(groups / y), y];
}

export function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}
