// The time split the page benchmark asks the engine for (src/gpu/time-split.ts), on a fake clock and a fake GPU:
// regions charged to their categories with the GPU work they submitted, cpu the rest, nesting (the outermost region
// gets the time), failures, and the inactive path (a plain call: the same promise, no clock, no waits).
import { describe, expect, test } from 'vitest';
import { splitTime, splittingTime, TimeSplitter, timed } from '../../src/gpu/time-split';

/** A clock moved by hand, and a GPU whose pending work (ms) the settle wait takes. */
function fakes() {
  const f = {
    t: 1000,
    pendingGpuMs: 0,
    settles: 0,
    now: () => f.t,
    /** The CPU works for `ms`, and submits `gpuMs` of GPU work. */
    work: (ms: number, gpuMs = 0) => {
      f.t += ms;
      f.pendingGpuMs += gpuMs;
    },
    settle: async () => {
      f.settles++;
      f.t += f.pendingGpuMs;
      f.pendingGpuMs = 0;
    },
  };
  return f;
}

describe('time split', () => {
  test('each region gets its own CPU time and the GPU work it submitted; cpu is the rest of the wall time', async () => {
    const f = fakes();
    const { result, split } = await splitTime(
      f.settle,
      async () => {
        expect(splittingTime()).toBe(true);
        f.work(7); // tokenizing, outside any region
        const tokens = await timed('generation', async () => (f.work(3, 40), 'tokens'));
        await timed('forwardBackward', async () => f.work(2, 20));
        await timed('optimizer', async () => f.work(1, 5));
        f.work(4, 100); // GPU work submitted outside a region: charged to whichever region waits next
        await timed('readback', async () => f.work(1));
        f.work(6, 9); // still pending at the end: waited for, and cpu
        return tokens;
      },
      f.now,
    );
    expect(result).toBe('tokens');
    expect(splittingTime()).toBe(false);
    expect(split).toEqual({ generation: 0.043, forwardBackward: 0.022, optimizer: 0.006, readback: 0.101, cpu: 0.026 });
    // The parts add up to the wall time: 7 + 43 + 22 + 6 + 4 + 101 + 6 + 9 ms.
    expect(Object.values(split).reduce((a, b) => a + b, 0)).toBeCloseTo(0.198, 12);
    expect(f.settles).toBe(5); // one per region, one at the end
  });

  test('nested regions count for the outermost one (one wait for the GPU, at its end)', async () => {
    const f = fakes();
    const { split } = await splitTime(
      f.settle,
      async () => {
        await timed('generation', async () => {
          f.work(2, 10);
          await timed('readback', async () => f.work(5)); // generate()'s own readbacks
          await timed('forwardBackward', async () => f.work(1, 1));
        });
        await timed('readback', async () => {
          await timed('readback', async () => f.work(3));
        });
      },
      f.now,
    );
    expect(split).toEqual({ generation: 0.019, forwardBackward: 0, optimizer: 0, readback: 0.003, cpu: 0 });
    expect(f.settles).toBe(3);
  });

  test('a failing region is charged up to its failure, with no wait for the GPU, and the failure passes on', async () => {
    const f = fakes();
    const splitter = new TimeSplitter(f.settle, f.now);
    await expect(splitter.time('optimizer', async () => (f.work(4, 50), Promise.reject(new Error('device lost'))))).rejects.toThrow('device lost');
    expect(f.settles).toBe(0);
    // The next region is outermost again (the failed one ended); it waits for the GPU work left over.
    await splitter.time('readback', async () => f.work(1));
    expect(splitter.seconds()).toEqual({ generation: 0, forwardBackward: 0, optimizer: 0.004, readback: 0.051, cpu: 0 });

    await expect(splitTime(f.settle, async () => Promise.reject(new Error('stage failed')), f.now)).rejects.toThrow('stage failed');
    expect(splittingTime()).toBe(false);
  });

  test('one split at a time', async () => {
    const f = fakes();
    await splitTime(f.settle, async () => {
      await expect(splitTime(f.settle, async () => 1)).rejects.toThrow(/already being taken/);
    });
    expect(splittingTime()).toBe(false);
  });

  test('inactive (the default): timed() is a plain call, the same promise back, no clock and no waits', async () => {
    expect(splittingTime()).toBe(false);
    const promise = Promise.resolve(42);
    let calls = 0;
    expect(
      timed('generation', () => {
        calls++;
        return promise;
      }),
    ).toBe(promise);
    expect(calls).toBe(1);
    const failure = Promise.reject(new Error('x'));
    expect(timed('readback', () => failure)).toBe(failure);
    await expect(failure).rejects.toThrow('x');
  });
});
