// A buffer the device cannot allocate: the pool creates every buffer inside an out-of-memory error scope, and the next
// submit throws a GpuOutOfMemoryError naming the buffer and its size — not the validation errors its invalid buffer
// causes in that step, nor an "uncaptured error" in a later one. The failure is made on the real device
// (tests/helpers/out-of-memory.ts).
import { describe, expect } from 'vitest';
import { BufferPool, GpuOutOfMemoryError } from '../../src/gpu';
import { storageUsage } from '../../src/gpu/buffers';
import { geluForward } from '../../src/kernels/gelu';
import { gpuTest } from '../helpers/gpu';
import { failNextCreation } from '../helpers/out-of-memory';

const rejection = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

describe('running out of GPU memory', () => {
  gpuTest('the step that uses a buffer that could not be allocated throws GpuOutOfMemoryError naming it; later steps run', async ({ rt }) => {
    const n = 1 << 16;
    failNextCreation(rt.device, 'victim');
    const victim = rt.tensor([n], 'victim');
    rt.write(victim, new Float32Array(n).fill(1)); // a write to the invalid buffer: its error is the allocation's doing
    const out = rt.tensor([n], 'out');
    const step = rt.step('uses victim');
    geluForward(step, victim, out);
    const read = step.read(out);
    const error = await rejection(step.submit());
    expect(error).toBeInstanceOf(GpuOutOfMemoryError);
    expect(error).toMatchObject({ bytes: 4 * n, what: 'victim' });
    expect((error as Error).message).toMatch(/^the GPU ran out of memory allocating 0\.3 MiB for "victim" with [\d.]+ MiB in use \(simulated: out of device memory\); use smaller batches/);
    await expect(read).rejects.toBe(error);
    rt.free(victim, out);

    // The invalid buffer is destroyed, not pooled: the same shape gets a new one, and the device works on.
    const allocations = rt.buffers.stats.allocations;
    const x = rt.upload(new Float32Array(n).fill(1), [n], 'x');
    const y = rt.tensor([n], 'y');
    const again = rt.step('after the failure');
    geluForward(again, x, y);
    const result = again.read(y);
    await again.submit();
    expect((await result)[0]).toBeCloseTo(0.8413, 3);
    expect(rt.buffers.stats.allocations).toBe(allocations + 1); // x came from the pool (the freed "out"), y is new
    expect(() => rt.assertAlive()).not.toThrow();
    rt.free(x, y);
  });

  gpuTest('a failed allocation is reported once, by the next submit, even when that step does not use the buffer', async ({ rt }) => {
    failNextCreation(rt.device, 'unused');
    const unused = rt.tensor([1024], 'unused');
    const x = rt.upload(new Float32Array(1024), [1024], 'x');
    const y = rt.tensor([1024], 'y');
    const first = rt.step('first');
    geluForward(first, x, y);
    expect(await rejection(first.submit())).toMatchObject({ name: 'GpuOutOfMemoryError', what: 'unused' });
    const second = rt.step('second');
    geluForward(second, x, y);
    await expect(second.submit()).resolves.toEqual({});
    // Its buffer is held until freed (a step that fails meanwhile is blamed on it); freed, it is destroyed and a
    // submit that creates no buffer awaits no allocation check.
    expect(rt.buffers.mayHaveFailed).toBe(true);
    rt.free(unused);
    expect(rt.buffers.mayHaveFailed).toBe(false);
    rt.free(x, y);
  });

  gpuTest('the pool destroys its free buffers before creating one that would take it past its capacity', ({ rt }) => {
    const pool = new BufferPool(rt.device, 2560);
    const small = pool.acquire(1024, storageUsage(), 'small');
    pool.release(small); // kept for reuse …
    expect(pool.stats.allocatedBytes).toBe(1024);
    const large = pool.acquire(2048, storageUsage(), 'large'); // … until 1024 + 2048 would pass 2560
    expect(pool.stats).toMatchObject({ allocatedBytes: 2048, inUseBytes: 2048, allocations: 2 });
    pool.release(large);
    pool.trim();
  });
});
