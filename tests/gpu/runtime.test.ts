import { describe, expect } from 'vitest';
import { DeviceLostError, GpuKernelError, params } from '../../src/gpu';
import { geluForward } from '../../src/kernels/gelu';
import { createTestRuntime } from '#test-runtime';
import { gpuTest } from '../helpers/gpu';

describe('GPU runtime', () => {
  gpuTest('records the adapter, its optional features and limits', ({ rt }) => {
    const a = rt.adapter;
    expect(a.key.length).toBeGreaterThan(0);
    expect(typeof a.software).toBe('boolean');
    for (const f of ['timestampQuery', 'subgroups', 'shaderF16'] as const) expect(typeof a.features[f]).toBe('boolean');
    expect(a.features.timestampQuery).toBe(rt.device.features.has('timestamp-query'));
    expect(a.limits.maxStorageBuffersPerShaderStage).toBeGreaterThanOrEqual(8);
    // The device is created with the adapter's full limits, not WebGPU's defaults.
    expect(rt.device.limits.maxComputeWorkgroupStorageSize).toBe(a.limits.maxComputeWorkgroupStorageSize);
  });

  gpuTest('caches one pipeline per shader and override set', ({ rt }) => {
    const a = rt.pipelines.get('gelu_forward');
    expect(rt.pipelines.get('gelu_forward')).toBe(a);
    expect(a.label).toBe('gelu_forward');
    expect(() => rt.pipelines.get('no_such_kernel')).toThrow(/Unknown shader "no_such_kernel"/);
  });

  gpuTest('recycles buffers and counts bytes', ({ rt }) => {
    const stats = rt.buffers.stats;
    const before = { ...stats };
    const t = rt.tensor([1000], 'pooled');
    expect(stats.inUseBytes - before.inUseBytes).toBe(4000);
    const buffer = t.buffer;
    rt.free(t);
    expect(stats.inUseBytes).toBe(before.inUseBytes);
    const again = rt.tensor([1000], 'pooled again');
    expect(again.buffer).toBe(buffer);
    expect(again.label).toBe('pooled again');
    expect(stats.allocations).toBe(before.allocations + 1);
    expect(stats.peakInUseBytes).toBeGreaterThanOrEqual(4000);
    rt.free(again);
    expect(() => rt.free(again)).toThrow(/released twice/);
  });

  gpuTest('batches every dispatch of a step into one submit, with reads after it', async ({ rt }) => {
    const x = rt.upload([1, 2, 3], [3], 'x');
    const y = rt.tensor([3], 'y');
    const z = rt.tensor([3], 'z');
    const before = { ...rt.counters };
    const step = rt.step('two kernels');
    geluForward(step, x, y);
    geluForward(step, y, z);
    const read = step.read(z);
    expect(step.dispatchCount).toBe(2);
    await step.submit();
    expect(rt.counters.submits - before.submits).toBe(1);
    expect(rt.counters.dispatches - before.dispatches).toBe(2);
    expect((await read).length).toBe(3);
    await expect(step.submit()).rejects.toThrow(/already submitted/);
    rt.free(x, y, z);
  });

  gpuTest('runs kernels, copies and reads on views into one arena buffer', async ({ rt }) => {
    // Two 3-element tensors at byte 0 and 256 of one arena (views start on 256-byte boundaries).
    const arena = rt.upload(Float32Array.from({ length: 128 }, (_, i) => i), [128], 'arena');
    const x = arena.view([3], 0, 'x');
    const y = arena.view([3], 256, 'y');
    expect(y.label).toBe('y');
    expect(() => arena.view([3], 4, 'bad')).toThrow(/not a multiple of 256/);
    expect(() => arena.view([100], 256, 'too long')).toThrow(/overruns/);
    expect(() => rt.free(y)).toThrow(/a view/);
    const other = rt.upload(new Float32Array(128).fill(-1), [128], 'other arena');
    const out = rt.tensor([3], 'out');
    const step = rt.step('views');
    geluForward(step, y, out); // reads elements 64..66
    step.copy(x, other.view([3], 256, 'other y')); // elements 0..2 → other's 64..66
    expect(() => step.copy(x, y)).toThrow(/both live in buffer "arena"/);
    const [o, all] = [step.read(out), step.read(other)];
    await step.submit();
    expect(Array.from(await o).map((v) => Math.round(v))).toEqual([64, 65, 66]);
    const a = await all;
    expect([a[63], a[64], a[65], a[66], a[67]]).toEqual([-1, 0, 1, 2, -1]);
    expect(Array.from(await rt.read(y))).toEqual([64, 65, 66]);
    rt.free(arena, other, out);
  });

  gpuTest('turns a validation error into an error naming the kernel', async ({ rt }) => {
    const x = rt.tensor([4], 'x');
    const step = rt.step('bad bindings');
    // gelu_forward has two storage bindings; giving one is invalid and must be reported, not swallowed.
    step.dispatch({ shader: 'gelu_forward', uniforms: params([4]), bindings: [x], workgroups: [1] });
    const error = await step.submit().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GpuKernelError);
    expect((error as GpuKernelError).kernels).toEqual(['gelu_forward']);
    expect((error as Error).message).toMatch(/GPU error in kernel gelu_forward/);
    rt.free(x);
  });

  gpuTest('rejects workgroup counts past the device limit before encoding', ({ rt }) => {
    const step = rt.step('too many workgroups');
    expect(() => step.dispatch({ shader: 'gelu_forward', uniforms: params([1]), bindings: [], workgroups: [70000] })).toThrow(
      /gelu_forward: workgroup count 70000/,
    );
  });

  gpuTest('profiles a step with GPU timestamps where the adapter has them', async ({ rt }) => {
    const n = 1 << 16;
    const x = rt.tensor([n], 'x');
    const y = rt.tensor([n], 'y');
    const step = rt.step('profiled');
    geluForward(step, x, y);
    const result = await step.submit({ profile: true });
    expect(result.wallMs).toBeGreaterThan(0);
    if (rt.adapter.features.timestampQuery) {
      expect(result.kernelTimes).toHaveLength(1);
      expect(result.kernelTimes![0].kernel).toBe('gelu_forward');
      expect(result.kernelTimes![0].ms).toBeGreaterThanOrEqual(0);
    } else {
      expect(result.kernelTimes).toBeUndefined();
    }
    rt.free(x, y);
  });

  gpuTest('surfaces device loss as a clear error on the next step', async () => {
    const rt = await createTestRuntime();
    rt.device.destroy();
    await rt.device.lost;
    const step = rt.step('after loss');
    await expect(step.submit()).rejects.toBeInstanceOf(DeviceLostError);
    await expect(rt.step('again').submit()).rejects.toThrow(/GPU device was lost \(destroyed\)/);
    expect(rt.isLost).toBe(true);
  });
});
