// Limits of the kernels that model configurations must respect, in a module of their own (no GPU code), so the
// page's main bundle can check a configuration without loading the kernels.

/** Largest head size: the attention kernels keep per-thread rows of HS floats in private arrays of this constant length. */
export const ATTENTION_MAX_HEAD_SIZE = 128;
