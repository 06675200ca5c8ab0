// `gpuTest`: a Vitest test with a `rt` fixture holding one GPU runtime per test file (worker scope).
// The runtime comes from Node's Dawn or from the browser, picked by the `#test-runtime` import condition.
// No adapter is a failure with instructions (NoAdapterError), never a skip.
import { test } from 'vitest';
import { createTestRuntime } from '#test-runtime';
import type { GpuRuntime } from '../../src/gpu';

export { testHost } from '#test-runtime';

export const gpuTest = test.extend<{ rt: GpuRuntime }, { sharedRuntime: GpuRuntime }>({
  sharedRuntime: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const rt = await createTestRuntime();
      await use(rt);
      rt.destroy();
    },
    { scope: 'worker' },
  ],
  rt: async ({ sharedRuntime, onTestFailed }, use) => {
    const before = sharedRuntime.buffers.stats.inUseBytes;
    let failed = false;
    onTestFailed(() => {
      failed = true;
    });
    await use(sharedRuntime);
    sharedRuntime.assertAlive();
    // Tests free what they allocate, so one leaking test cannot hide behind the next (a failed test skips it).
    if (!failed && sharedRuntime.buffers.stats.inUseBytes !== before) {
      throw new Error(`test leaked ${sharedRuntime.buffers.stats.inUseBytes - before} bytes of GPU buffers`);
    }
  },
});
