// `gpuTest`: a Vitest test with a `rt` fixture holding one GPU runtime per test file's worker.
// The runtime comes from Node's Dawn or from the browser, picked by the `#test-runtime` import condition.
// No adapter is a failure with instructions (NoAdapterError), never a skip.
import { test } from 'vitest';
import { createTestRuntime } from '#test-runtime';

export { testHost } from '#test-runtime';

export const gpuTest = test
  .extend('sharedRuntime', { scope: 'worker' }, async ({}, { onCleanup }) => {
    const rt = await createTestRuntime();
    onCleanup(() => rt.destroy());
    return rt;
  })
  .extend('rt', async ({ sharedRuntime, onTestFinished }) => {
    const before = sharedRuntime.buffers.stats.inUseBytes;
    onTestFinished(({ task }) => {
      sharedRuntime.assertAlive();
      // Tests free what they allocate, so one leaking test cannot hide behind the next (a failed test skips it).
      if (task.result?.state !== 'fail' && sharedRuntime.buffers.stats.inUseBytes !== before) {
        throw new Error(`test leaked ${sharedRuntime.buffers.stats.inUseBytes - before} bytes of GPU buffers`);
      }
    });
    return sharedRuntime;
  });
