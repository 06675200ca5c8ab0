// The shader sources: every kernel's includes expanded from shaders/lib (the kernels' own tests run them).
import { describe, expect, test } from 'vitest';
import { shaderNames, shaderSource } from '../../src/gpu';
import crossentropy from '../../shaders/crossentropy_forward_backward.wgsl?raw';
import rowMerge from '../../shaders/lib/row_merge.wgsl?raw';
import logprob from '../../shaders/logprob_forward.wgsl?raw';

describe('shader sources', () => {
  test('a kernel that includes a helper gets its text in place of the directive, once', () => {
    for (const [name, raw] of [['crossentropy_forward_backward', crossentropy], ['logprob_forward', logprob]] as const) {
      expect(raw).toContain('//! include row_merge');
      const code = shaderSource(name);
      expect(code).toBe(raw.replace('//! include row_merge', rowMerge));
      expect(code.split('fn row_merge(').length).toBe(2);
    }
  });

  test('no kernel is left with a directive, and an unknown kernel is named in the error', () => {
    expect(shaderNames().length).toBeGreaterThan(30);
    for (const name of shaderNames()) expect(shaderSource(name), name).not.toMatch(/^\/\/! include /m);
    expect(() => shaderSource('no_such_kernel')).toThrow('Unknown shader "no_such_kernel": no shaders/no_such_kernel.wgsl');
  });
});
