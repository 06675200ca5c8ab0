import { describe, expect, test } from 'vitest';
import { PipelineControl, PipelineStopped } from '../../src/rlhf/pipeline';

/** Resolves after the pending microtasks and timers of one macrotask. */
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('PipelineControl', () => {
  test('gates pass while running; pause holds them; step lets exactly one through; resume releases; stop throws', async () => {
    const waits: boolean[] = [];
    const c = new PipelineControl((w) => waits.push(w));
    await c.gate();
    c.step(); // ignored while running
    c.pause();
    expect(c.state).toBe('paused');
    let passed = 0;
    const loop = (async () => {
      for (;;) {
        await c.gate();
        passed++;
        await new Promise((r) => setTimeout(r, 0)); // a unit of work takes time
      }
    })();
    await tick();
    expect(passed).toBe(0);
    expect(waits).toEqual([true]);
    c.step();
    await tick();
    expect(passed).toBe(1);
    c.step();
    c.step();
    await tick();
    expect(passed).toBe(3);
    c.resume();
    await tick();
    await tick();
    expect(passed).toBeGreaterThan(4);
    c.stop();
    await expect(loop).rejects.toBeInstanceOf(PipelineStopped);
    expect(c.state).toBe('stopped');
    c.reset();
    expect(c.state).toBe('running');
    await c.gate();
  });
});
