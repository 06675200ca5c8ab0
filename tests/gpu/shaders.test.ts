// The shader sources: every kernel's includes expanded from shaders/lib (the kernels' own tests run them).
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { shaderNames, shaderSource } from '../../src/gpu';

describe('shader sources', () => {
  test('a kernel that includes a helper gets its text in place of the directive, once', () => {
    const helper = readFileSync('shaders/lib/row_merge.wgsl', 'utf8');
    for (const name of ['crossentropy_forward_backward', 'logprob_forward']) {
      const raw = readFileSync(`shaders/${name}.wgsl`, 'utf8');
      expect(raw).toContain('//! include row_merge');
      const code = shaderSource(name);
      expect(code).toBe(raw.replace('//! include row_merge', helper));
      expect(code.split('fn row_merge(').length).toBe(2);
    }
  });

  test('no kernel is left with a directive, and an unknown kernel is named in the error', () => {
    expect(shaderNames().length).toBeGreaterThan(30);
    for (const name of shaderNames()) expect(shaderSource(name), name).not.toMatch(/^\/\/! include /m);
    expect(() => shaderSource('no_such_kernel')).toThrow('Unknown shader "no_such_kernel": no shaders/no_such_kernel.wgsl');
  });
});
