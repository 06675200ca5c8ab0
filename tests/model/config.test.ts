import { describe, expect, test } from 'vitest';
import { arenaBytes, DEFAULT_PRESET, makeConfig, parameterCount, parameterShapes, PRESETS, validateConfig } from '../../src/model/config';
import { referenceParameterShapes } from '../../src/reference/gpt';

describe('GPTConfig', () => {
  test('presets: nano for tests, tiny (default) ~0.1–0.3M, small ~1–3M parameters at a ~100-character vocabulary', () => {
    expect(PRESETS.nano).toMatchObject({ nLayer: 2, dModel: 32, nHead: 2, contextLength: 32 });
    expect(DEFAULT_PRESET).toBe('tiny');
    const tiny = parameterCount(makeConfig('tiny', { vocabSize: 100 }));
    const small = parameterCount(makeConfig('small', { vocabSize: 100 }));
    expect(tiny).toBeGreaterThan(100_000);
    expect(tiny).toBeLessThan(300_000);
    expect(small).toBeGreaterThan(1_000_000);
    expect(small).toBeLessThan(3_000_000);
    expect(PRESETS.small.contextLength).toBeGreaterThanOrEqual(128);
    expect(PRESETS.small.contextLength).toBeLessThanOrEqual(256);
    for (const p of Object.values(PRESETS)) expect(() => validateConfig(p)).not.toThrow();
  });

  test('parameterCount = V·C + maxT·C + L·(12C² + 13C) + 2C', () => {
    for (const c of [PRESETS.nano, PRESETS.tiny, PRESETS.small, makeConfig('nano', { vocabSize: 11, nLayer: 3 })]) {
      const { vocabSize: V, contextLength: T, nLayer: L, dModel: C } = c;
      expect(parameterCount(c)).toBe(V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C);
    }
    expect(parameterCount(PRESETS.nano)).toBe(28_544);
  });

  test('parameterShapes is GPT-2 order and layout, the same list as the float64 reference', () => {
    const c = makeConfig('nano', { nLayer: 3 });
    expect(parameterShapes(c)).toEqual(referenceParameterShapes(c));
    expect(parameterShapes(c).slice(0, 4)).toEqual([
      { name: 'wte', shape: [64, 32] },
      { name: 'wpe', shape: [32, 32] },
      { name: 'h.0.ln_1.weight', shape: [32] },
      { name: 'h.0.ln_1.bias', shape: [32] },
    ]);
    expect(parameterShapes(c).at(-1)).toEqual({ name: 'ln_f.bias', shape: [32] });
  });

  test('makeConfig: overrides, frozen result, unknown presets and fields rejected', () => {
    const c = makeConfig('tiny', { vocabSize: 77, dropout: 0 });
    expect(c).toMatchObject({ ...PRESETS.tiny, vocabSize: 77, dropout: 0 });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(PRESETS.nano)).toBe(true);
    expect(() => makeConfig('huge' as 'tiny')).toThrow(/unknown preset "huge"/);
    expect(() => makeConfig('nano', { nLayers: 3 } as object)).toThrow(/unknown field "nLayers"/);
  });

  test('validateConfig names the offending field', () => {
    const base = PRESETS.nano;
    expect(() => makeConfig('nano', { dModel: 30, nHead: 4 })).toThrow(/GPTConfig.dModel \(30\) must be divisible by nHead \(4\)/);
    expect(() => makeConfig('nano', { dModel: 512, nHead: 2 })).toThrow(/GPTConfig.nHead: head size dModel\/nHead = 256 exceeds the attention kernel's maximum 128/);
    expect(() => makeConfig('nano', { nLayer: 0 })).toThrow(/GPTConfig.nLayer must be a positive integer, got 0/);
    expect(() => makeConfig('nano', { vocabSize: 1.5 })).toThrow(/GPTConfig.vocabSize must be a positive integer, got 1.5/);
    expect(() => makeConfig('nano', { contextLength: -1 })).toThrow(/GPTConfig.contextLength must be a positive integer/);
    expect(() => makeConfig('nano', { dropout: 1 })).toThrow(/GPTConfig.dropout must be in \[0, 1\), got 1/);
    expect(() => makeConfig('nano', { dropout: -0.1 })).toThrow(/GPTConfig.dropout/);
    // Device limits: the parameter arena is bound whole (AdamW, gradient norm); one sequence's logits too.
    const limits = { maxStorageBufferBindingSize: 128 << 20, maxBufferSize: 256 << 20 };
    expect(() => validateConfig(base, limits)).not.toThrow();
    expect(() => validateConfig({ ...base, nLayer: 200, dModel: 256, nHead: 4 }, limits)).toThrow(/parameters need a \d+-byte arena, over this device's 134217728-byte storage binding limit/);
    expect(() => validateConfig({ ...base, vocabSize: 50_000, contextLength: 1024, nLayer: 1 }, limits)).toThrow(/GPTConfig.vocabSize: one 1024-token sequence needs a 204800000-byte tensor/);
    expect(arenaBytes(base)).toBeGreaterThanOrEqual(4 * parameterCount(base));
    expect(arenaBytes(base) % 256).toBe(0);
  });
});
