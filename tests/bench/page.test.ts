// The page benchmark's pure half (src/bench/page.ts): percentiles, gaps and bursts, and the summary of a run from a
// probe's record, with the engine worker's stage reports (time split, seconds per iteration) when there are some (the
// probes themselves run in the page: tests/e2e/page.test.ts).
import { describe, expect, test } from 'vitest';
import {
  countBursts,
  formatPageReport,
  gapsWithin,
  type PageBenchResult,
  type PageProbe,
  percentile,
  responsiveByCpuVerdict,
  responsiveVerdict,
  summarizeLongTaskCpu,
  spread,
  summarizeRun,
  toPageJson,
} from '../../src/bench/page';

/** A run clicked at 1000 ms: pretrain skipped, sft 1000→3000, rm 3000→3500 (then Done), with what the probe saw. */
function probe(overrides: Partial<PageProbe> = {}): PageProbe {
  return {
    gpuCalls: { requestAdapter: 0, requestDevice: 0 },
    // One before the run (page load), two during it, one after it.
    longTasks: [[500, 300], [1500, 60], [3200, 120], [4000, 80]],
    // The long frames around the two long tasks of the run (the second overlaps two frames), and one at page load.
    longFrames: [
      { start: 490, duration: 320, renderMs: 20, scripts: [['classic-script', '(anonymous) index.js:0', 290]] },
      { start: 1490, duration: 70, renderMs: 5, scripts: [['Worker.onmessage', 'onMessage index.js:120', 55]] },
      { start: 3190, duration: 60, renderMs: 40, scripts: [['FrameRequestCallback', 'redraw index.js:900', 12]] },
      { start: 3250, duration: 90, renderMs: 30, scripts: [['Worker.onmessage', 'onMessage index.js:120', 50], ['TimerHandler:setTimeout', 'flush index.js:400', 8]] },
    ],
    beats: [900, 980, 1020, 1040, 1200, 1220, 3400, 3600],
    frames: [990, 1010, 1030],
    // Two commits redraw three charts each within a few ms; one more redraw after the run.
    redraws: [1100, 1102, 1104, 2000, 2003, 2005, 5000],
    changes: [
      [100, 'pretrain', 'pending'],
      [100, 'sft', 'pending'],
      [100, 'rm', 'pending'],
      [100, 'run', 'Not started'],
      [1010, 'run', 'Running'],
      [1020, 'pretrain', 'skipped'],
      [1030, 'sft', 'running'],
      [3030, 'sft', 'done'],
      [3040, 'rm', 'running'],
      [3540, 'rm', 'done'],
      [3550, 'run', 'Done'],
      // A later run of one stage does not belong to this run.
      [6000, 'rm', 'running'],
    ],
    clicks: [
      [800, 'Explain PPO'],
      [1000, 'Run pipeline'],
      [6000, 'Run pipeline'],
    ],
    ...overrides,
  };
}

describe('page benchmark summary', () => {
  test('nearest-rank percentiles, spreads, gaps within a window, bursts', () => {
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile(Array.from({ length: 200 }, (_, i) => i + 1), 99)).toBe(198);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNull();
    expect(spread([20, 20, 300, 20])).toEqual({ count: 4, p50: 20, p99: 300, max: 300 });
    expect(spread([])).toEqual({ count: 0, p50: null, p99: null, max: null });
    // Gaps whose later end is in [1000, 1200]: 980→1020, 1020→1040, 1040→1200.
    expect(gapsWithin([900, 980, 1020, 1040, 1200, 1220], 1000, 1200)).toEqual([40, 20, 160]);
    expect(gapsWithin([1000], 0, 2000)).toEqual([]);
    expect(countBursts([0, 3, 9, 20, 50, 55], 10)).toBe(3);
    expect(countBursts([0, 10, 20], 10)).toBe(3);
    expect(countBursts([], 10)).toBe(0);
  });

  test('a run: stage seconds from running to done, the total from the click, the main thread over that window only', () => {
    const s = summarizeRun(probe());
    expect(s.end).toBe('Done');
    expect(s.totalSeconds).toBeCloseTo(2.55, 12);
    expect(s.stages).toEqual([
      { stage: 'pretrain', state: 'skipped', seconds: null },
      { stage: 'sft', state: 'done', seconds: 2 },
      { stage: 'rm', state: 'done', seconds: 0.5 },
    ]);
    const m = s.mainThread;
    expect(m.gpuCalls).toBe(0);
    const { causes, ...longTasks } = m.longTasks;
    expect(longTasks).toEqual({ count: 2, longestMs: 120, totalMs: 180, shareOfRun: 180 / 2550 });
    // Each long task with the stage running then and the long frames it overlaps: their rendering, their scripts longest first.
    expect(causes).toEqual([
      { atSeconds: 0.5, ms: 60, stage: 'sft', renderMs: 5, scripts: [['Worker.onmessage', 'onMessage index.js:120', 55]] },
      {
        atSeconds: 2.2,
        ms: 120,
        stage: 'rm',
        renderMs: 70,
        scripts: [
          ['Worker.onmessage', 'onMessage index.js:120', 50],
          ['FrameRequestCallback', 'redraw index.js:900', 12],
          ['TimerHandler:setTimeout', 'flush index.js:400', 8],
        ],
      },
    ]);
    // Beats ending in [1000, 3550]: 1020, 1040, 1200, 1220, 3400; gaps 40, 20, 160, 20, 2180 (nearest-rank p50: 40).
    expect(m.heartbeatGapsMs).toEqual({ count: 5, p50: 40, p99: 2180, max: 2180 });
    expect(m.frameGapsMs).toEqual({ count: 2, p50: 20, p99: 20, max: 20 });
    expect(m.chartRedraws).toBe(6);
    expect(m.chartUpdatesPerSecond).toBeCloseTo(2 / 2.55, 12);
    expect(responsiveVerdict(s)).toBe('not met');
  });

  test('a run still going: no end, stages measured up to the last reading; a failed stage keeps its state', () => {
    const running = summarizeRun(probe({ changes: probe().changes.slice(0, 9), beats: [1020, 4000] }));
    expect(running.end).toBeNull();
    expect(running.totalSeconds).toBe(3);
    expect(running.stages.find((t) => t.stage === 'rm')).toEqual({ stage: 'rm', state: 'running', seconds: 0.96 });
    expect(responsiveVerdict(running)).toBe('not measured');

    const failed = summarizeRun(probe({ changes: [...probe().changes.slice(0, 8), [3100, 'rm', 'running'], [3300, 'rm', 'failed'], [3310, 'run', 'Failed']] }));
    expect(failed.end).toBe('Failed');
    expect(failed.stages.find((t) => t.stage === 'rm')).toEqual({ stage: 'rm', state: 'failed', seconds: 0.2 });
  });

  test('GPU calls on the main thread count against the target, as long tasks do', () => {
    const quiet = { longTasks: [] };
    expect(responsiveVerdict(summarizeRun(probe(quiet)))).toBe('met');
    const gpu = summarizeRun(probe({ ...quiet, gpuCalls: { requestAdapter: 1, requestDevice: 1 } }));
    expect(gpu.mainThread.gpuCalls).toBe(2);
    expect(responsiveVerdict(gpu)).toBe('not met');
  });

  test("long tasks judged by the main thread's CPU time: a task that waited for a core is not one that worked for 50 ms", () => {
    const cpu = summarizeLongTaskCpu({ tasks: [[120, 17], [60, 51], [300, 4]] });
    expect(cpu).toEqual({ count: 3, maxCpuMs: 51, overLimitByCpu: 1 });
    expect(summarizeLongTaskCpu({ tasks: [] })).toEqual({ count: 0, maxCpuMs: null, overLimitByCpu: 0 });
    const run = summarizeRun(probe());
    expect(responsiveVerdict(run)).toBe('not met');
    expect(responsiveByCpuVerdict(run, cpu)).toBe('not met');
    expect(responsiveByCpuVerdict(run, summarizeLongTaskCpu({ tasks: [[120, 17], [60, 12]] }))).toBe('met');
    const gpu = summarizeRun(probe({ gpuCalls: { requestAdapter: 1, requestDevice: 0 } }));
    expect(responsiveByCpuVerdict(gpu, summarizeLongTaskCpu({ tasks: [] }))).toBe('not met');
    const going = summarizeRun(probe({ changes: probe().changes.slice(0, 9) }));
    expect(responsiveByCpuVerdict(going, summarizeLongTaskCpu({ tasks: [] }))).toBe('not measured');
  });

  test("with the engine worker's stage reports: each stage's time split and seconds per iteration, in the table and the JSON", () => {
    const sftTime = { generation: 0.4, forwardBackward: 0.9, optimizer: 0.3, readback: 0.1, cpu: 0.3 };
    const rmTime = { generation: 0.1, forwardBackward: 0.2, optimizer: 0.02, readback: 0.1, cpu: 0.08 };
    const stageReports = [
      // Before the run (an earlier run of the page) and after it: not this run's.
      { at: 900, stage: 'sft', seconds: 9, time: rmTime, iterations: 1 },
      { at: 3025, stage: 'sft', seconds: 2, time: sftTime, iterations: 4 },
      { at: 3535, stage: 'rm', seconds: 0.5, time: rmTime },
      { at: 6100, stage: 'rm', seconds: 7, time: sftTime, iterations: 2 },
    ];
    const summary = summarizeRun(probe({ stageReports }));
    expect(summary.stages).toEqual([
      { stage: 'pretrain', state: 'skipped', seconds: null },
      { stage: 'sft', state: 'done', seconds: 2, time: sftTime, iterations: 4, secondsPerIteration: 0.5 },
      { stage: 'rm', state: 'done', seconds: 0.5, time: rmTime },
    ]);
    // Reports without a split (--no-time-split) still give the seconds per iteration.
    const unsplit = summarizeRun(probe({ stageReports: [{ at: 3025, stage: 'sft', seconds: 2, iterations: 8 }] }));
    expect(unsplit.stages[1]).toEqual({ stage: 'sft', state: 'done', seconds: 2, iterations: 8, secondsPerIteration: 0.25 });

    const result: PageBenchResult = {
      config: { task: 'sentiment', preset: 'nano', overrides: {} },
      adapter: 'google · swiftshader',
      browser: 'Chromium 1',
      machine: { cpus: 2, loadStart: 1, loadEnd: 1 },
      mainThreadCpu: { seconds: 0.5, scriptSeconds: 0.2, shareOfRun: 0.2 },
      longTaskCpu: { count: 0, maxCpuMs: null, overLimitByCpu: 0 },
      ...summary,
      timeSplitMethod: 'wall clock, each region waits for the GPU',
    };
    const lines = formatPageReport(result).split('\n');
    expect(lines.slice(0, 6)).toEqual([
      'stage     state    seconds  generation  fwd+bwd  optimizer  readback   cpu  iterations  s/iteration',
      'pretrain  skipped        —           —        —          —         —     —           —            —',
      'sft       done         2.0        0.40     0.90       0.30      0.10  0.30           4         0.50',
      'rm        done         0.5        0.10     0.20       0.02      0.10  0.08           —            —',
      'total, from the click on Run pipeline to Done: 2.5 s',
      'time split (seconds in the engine worker; they add up to its own seconds of the stage): wall clock, each region waits for the GPU',
    ]);
    expect(JSON.parse(toPageJson(result))).toEqual(result);

    // Seconds per iteration alone: no split columns, no method line.
    const perIteration = formatPageReport({ ...result, ...unsplit, timeSplitMethod: undefined }).split('\n');
    expect(perIteration.slice(0, 3)).toEqual(['stage     state    seconds  iterations  s/iteration', 'pretrain  skipped        —           —            —', 'sft       done         2.0           8         0.25']);
    expect(perIteration[4]).toMatch(/^total/);
    expect(perIteration[5]).toBe('');

    // The evaluation's figures follow the time split's line.
    const evaluated = formatPageReport({ ...result, evaluation: { 'eval/win_rate_ppo': '0.883', 'eval/kl_ppo': '5.20' } }).split('\n');
    expect(evaluated[6]).toBe('evaluation: eval/win_rate_ppo 0.883, eval/kl_ppo 5.20');
  });

  test('no click on Run pipeline: nothing to summarize', () => {
    expect(() => summarizeRun(probe({ clicks: [[800, 'Pause']] }))).toThrow(/no click on Run pipeline/);
  });

  test('the report: a stage table with the total, the main-thread figures, the verdict and the machine; JSON round-trips', () => {
    const result: PageBenchResult = {
      config: { task: 'sentiment', preset: 'nano', overrides: { 'ppo.episodes': '8' } },
      adapter: 'google · swiftshader',
      browser: 'Chromium 1',
      machine: { cpus: 2, loadStart: 3.5, loadEnd: 1.25 },
      mainThreadCpu: { seconds: 0.51, scriptSeconds: 0.2, shareOfRun: 0.2 },
      longTaskCpu: { count: 2, maxCpuMs: 21.5, overLimitByCpu: 0 },
      ...summarizeRun(probe()),
    };
    const lines = formatPageReport(result).split('\n');
    expect(lines.slice(0, 5)).toEqual([
      'stage     state    seconds',
      'pretrain  skipped        —',
      'sft       done         2.0',
      'rm        done         0.5',
      'total, from the click on Run pipeline to Done: 2.5 s',
    ]);
    expect(lines).toContain('  GPU calls (requestAdapter, requestDevice)  0');
    expect(lines).toContain('  CPU time                                   0.51 s, 20.00% of the run (script 0.20 s)');
    expect(lines.find((l) => l.includes('long tasks'))).toMatch(/long tasks \(over 50 ms\) +2, longest 120\.0 ms, 7\.06% of the run$/);
    expect(lines.find((l) => l.includes('heartbeat'))).toMatch(/p50 40\.0 ms, p99 2180\.0 ms, max 2180\.0 ms \(5 gaps\)$/);
    expect(lines.find((l) => l.includes('chart updates'))).toMatch(/0\.78 \/s \(6 chart redraws\)$/);
    expect(lines).toContain("  the same long tasks in a trace: 2; the main thread's own CPU time in each at most 21.5 ms, over 50 ms in 0");
    expect(lines.find((l) => l.startsWith('target'))).toBe(
      "target (issue 5), no long tasks and no GPU calls on the main thread while training: not met by wall clock, met by the main thread's CPU time per task",
    );
    expect(lines.at(-1)).toBe('machine: 2 CPUs, load average 3.5 at the start, 1.3 at the end (loaded: the main thread is descheduled mid-task, so ordinary tasks stretch into long ones)');
    expect(formatPageReport({ ...result, machine: { cpus: 2, loadStart: 1, loadEnd: 2 } }).split('\n').at(-1)).toBe('machine: 2 CPUs, load average 1.0 at the start, 2.0 at the end');

    expect(JSON.parse(toPageJson(result))).toEqual(result);
  });
});
