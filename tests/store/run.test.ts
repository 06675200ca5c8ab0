// The run store fed with synthetic pipeline events: series grow past their initial capacity and keep every point,
// the commit throttle holds React-visible changes to one per interval (on a fake clock), `latest` and the
// frontier follow the records, a stage run again replaces its results, and the CSV/JSONL exports are exact. A sweep
// keeps each finished run (label, trimmed series, frontier) when the next starts, at most MAX_KEPT_RUNS of them; any
// other reset, or clearKeptRuns, drops them. A series round-trips through its plain-data form (toColumns /
// fromColumns, how kept runs are saved), and restoreSweep puts a saved sweep back without touching the current run.
import { describe, expect, test } from 'vitest';
import type { MetricRecord } from '../../src/rlhf/metrics';
import { STAGES, type SampleRecord } from '../../src/rlhf/pipeline';
import type { Episode } from '../../src/rlhf/episode';
import { metricsToCsv, metricsToJsonl } from '../../src/rlhf/metrics';
import { createRunStore, MAX_KEPT_RUNS, MetricSeries, RUN_STAGES, type Scheduler, Throttle } from '../../src/store/run';

/** A manual clock: `schedule` queues callbacks, `advance` moves time and runs those due. */
function fakeClock() {
  let t = 0;
  let queue: { at: number; fn: () => void; cancelled: boolean }[] = [];
  const schedule: Scheduler = (fn, ms) => {
    const entry = { at: t + ms, fn, cancelled: false };
    queue.push(entry);
    return () => void (entry.cancelled = true);
  };
  return {
    now: () => t,
    schedule,
    pending: () => queue.filter((e) => !e.cancelled).length,
    advance(ms: number) {
      t += ms;
      const due = queue.filter((e) => e.at <= t && !e.cancelled);
      queue = queue.filter((e) => e.at > t && !e.cancelled);
      due.forEach((e) => e.fn());
    },
  };
}

function ppoRecord(step: number, kl: number, scores: number, gold?: number): MetricRecord {
  const r: MetricRecord = { stage: 'ppo', step, 'objective/kl': kl, 'policy/sqrt_kl': Math.sqrt(kl), 'objective/scores': scores };
  if (gold !== undefined) r['objective/gold'] = gold;
  return r;
}

describe('MetricSeries', () => {
  test('grows past its capacity and keeps every point in order, per metric and stage', () => {
    const s = new MetricSeries();
    for (let i = 0; i < 1000; i++) s.pushRecord({ stage: 'sft', step: i, loss: 1 / (i + 1), lr: 1e-3 });
    s.pushRecord({ stage: 'pretrain', step: 0, loss: 5 });
    const loss = s.get('loss', 'sft');
    expect(loss.x.length).toBe(1000);
    expect(loss.y.length).toBe(1000);
    expect(loss.x[999]).toBe(999);
    expect(loss.y[0]).toBe(1);
    expect(loss.y[999]).toBe(1 / 1000);
    expect(Array.from(s.get('loss', 'pretrain').y)).toEqual([5]);
    expect(s.length('lr', 'sft')).toBe(1000);
    expect(s.length('lr', 'ppo')).toBe(0);
    expect(s.get('nope', 'sft').x.length).toBe(0);
    expect(s.names().sort()).toEqual(['loss', 'lr']);
  });

  test('a view taken before more pushes stays valid; clear(stage) drops only that stage', () => {
    const s = new MetricSeries();
    for (let i = 0; i < 60; i++) s.push('loss', 'sft', i, i * 2);
    const before = s.get('loss', 'sft');
    for (let i = 60; i < 500; i++) s.push('loss', 'sft', i, i * 2); // reallocates
    expect(before.y.length).toBe(60);
    expect(before.y[59]).toBe(118);
    s.push('loss', 'pretrain', 0, 1);
    const gen = s.generation;
    s.clear('sft');
    expect(s.length('loss', 'sft')).toBe(0);
    expect(s.length('loss', 'pretrain')).toBe(1);
    expect(s.generation).toBe(gen + 1);
  });

  test('trimmedCopy holds exactly the points so far, unaffected by later pushes and clears of the original', () => {
    const s = new MetricSeries();
    for (let i = 0; i < 100; i++) s.push('loss', 'sft', i, i / 2);
    s.push('objective/kl', 'ppo', 0, 3);
    const copy = s.trimmedCopy();
    s.push('loss', 'sft', 100, 50);
    s.clear();
    expect(s.length('loss', 'sft')).toBe(0);
    const loss = copy.get('loss', 'sft');
    expect(loss.y.length).toBe(100);
    expect(loss.y.buffer.byteLength).toBe(100 * 8); // no spare capacity (the original had room for 128)
    expect([loss.x[99], loss.y[99]]).toEqual([99, 49.5]);
    expect(Array.from(copy.get('objective/kl', 'ppo').y)).toEqual([3]);
  });

  test('toColumns → structured clone → fromColumns gives back every point of ragged series in several stages', () => {
    const s = new MetricSeries();
    for (let i = 0; i < 100; i++) s.pushRecord({ stage: 'sft', step: i, loss: 3 - i / 50, ...(i % 10 === 0 ? { lr: i * 1e-5 } : {}) });
    for (let i = 0; i < 3; i++) s.pushRecord({ stage: 'ppo', step: i, loss: -i, 'objective/kl': i / 4 });
    s.push('loss', 'pretrain', 7, NaN);
    const columns = s.toColumns();
    expect(columns.map((c) => [c.name, c.stage, c.x.length]).sort()).toEqual([
      ['loss', 'ppo', 3],
      ['loss', 'pretrain', 1],
      ['loss', 'sft', 100],
      ['lr', 'sft', 10],
      ['objective/kl', 'ppo', 3],
    ]);
    expect(columns.every((c) => c.x.buffer.byteLength === c.x.length * 8)).toBe(true); // no spare capacity stored
    const back = MetricSeries.fromColumns(structuredClone(columns));
    expect(back.names().sort()).toEqual(s.names().sort());
    for (const name of s.names()) {
      for (const stage of ['pretrain', 'sft', 'ppo'] as const) {
        expect(Array.from(back.get(name, stage).x)).toEqual(Array.from(s.get(name, stage).x));
        expect(Array.from(back.get(name, stage).y)).toEqual(Array.from(s.get(name, stage).y));
      }
    }
    // The columns are copies: points pushed to the original later do not reach them.
    s.push('loss', 'ppo', 3, 9);
    expect(columns.find((c) => c.name === 'loss' && c.stage === 'ppo')!.y.length).toBe(3);
    // A restored series grows like any other.
    back.push('loss', 'ppo', 3, 9);
    expect(Array.from(back.get('loss', 'ppo').y)).toEqual([-0, -1, -2, 9]);
    expect(() => MetricSeries.fromColumns([{ name: 'loss', stage: 'sft', x: new Float64Array(2), y: new Float64Array(1) }])).toThrow(/2 steps but 1 values/);
    expect(MetricSeries.fromColumns([{ name: 'loss', stage: 'sft', x: new Float64Array(0), y: new Float64Array(0) }]).names()).toEqual([]);
  });
});

describe('Throttle', () => {
  test('leading call at once, then at most one call per interval however many requests', () => {
    const clock = fakeClock();
    let calls = 0;
    const t = new Throttle(() => calls++, 100, clock.now, clock.schedule);
    t.request();
    expect(calls).toBe(1); // leading edge
    for (let i = 0; i < 50; i++) t.request();
    expect(calls).toBe(1);
    expect(clock.pending()).toBe(1);
    clock.advance(99);
    expect(calls).toBe(1);
    clock.advance(1);
    expect(calls).toBe(2); // trailing edge
    // 1 s of requests every 5 ms: about 10 calls, never two within 100 ms.
    const times: number[] = [];
    const t2 = new Throttle(() => times.push(clock.now()), 100, clock.now, clock.schedule);
    for (let i = 0; i < 200; i++) {
      t2.request();
      clock.advance(5);
    }
    expect(times.length).toBeGreaterThanOrEqual(10);
    expect(times.length).toBeLessThanOrEqual(11);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(100);
  });

  test('flush runs a pending call now; stop drops it', () => {
    const clock = fakeClock();
    let calls = 0;
    const t = new Throttle(() => calls++, 100, clock.now, clock.schedule);
    t.request();
    t.request();
    t.flush();
    expect(calls).toBe(2);
    t.flush(); // nothing pending
    expect(calls).toBe(2);
    clock.advance(10);
    t.request();
    t.stop();
    clock.advance(1000);
    expect(calls).toBe(2);
  });
});

describe('run store', () => {
  test('RUN_STAGES is the pipeline order', () => {
    expect([...RUN_STAGES]).toEqual([...STAGES]);
  });

  test('metric batches commit version/latest at most once per interval; series keep every point', () => {
    const clock = fakeClock();
    const store = createRunStore({ intervalMs: 100, now: clock.now, schedule: clock.schedule });
    let renders = 0;
    store.subscribe((s, prev) => void (s.version !== prev.version && renders++));
    store.getState().onStage('sft', 'started');
    const v0 = store.getState().version;
    renders = 0;
    clock.advance(200);
    // 100 records, one per 2 ms (200 ms in all), each its own batch.
    for (let i = 0; i < 100; i++) {
      store.getState().onMetrics([{ stage: 'sft', step: i, loss: 3 - i / 100, lr: 1e-3 }]);
      clock.advance(2);
    }
    expect(renders).toBeGreaterThanOrEqual(2);
    expect(renders).toBeLessThanOrEqual(3);
    store.getState().flush();
    const s = store.getState();
    expect(s.version).toBeGreaterThan(v0);
    expect(s.series.length('loss', 'sft')).toBe(100);
    expect(s.recordCount).toBe(100);
    expect(s.records.length).toBe(100);
    expect(s.latest.loss).toEqual({ value: 3 - 99 / 100, stage: 'sft', step: 99 });
    expect(s.latest.lr).toEqual({ value: 1e-3, stage: 'sft', step: 99 });
  });

  test('latest is committed with the throttle, not per record', () => {
    const clock = fakeClock();
    const store = createRunStore({ intervalMs: 100, now: clock.now, schedule: clock.schedule });
    store.getState().onMetrics([{ stage: 'sft', step: 0, loss: 2 }]); // leading edge: committed now
    expect(store.getState().latest.loss?.value).toBe(2);
    store.getState().onMetrics([{ stage: 'sft', step: 1, loss: 1.5 }]);
    expect(store.getState().latest.loss?.value).toBe(2);
    clock.advance(100);
    expect(store.getState().latest.loss?.value).toBe(1.5);
  });

  test('stage, progress, run state, episodes, samples and summary', () => {
    const store = createRunStore({ schedule: () => () => {} });
    const st = () => store.getState();
    expect(st().state).toBe('idle');
    expect(Object.values(st().stages).every((s) => s.state === 'pending')).toBe(true);
    st().onStage('pretrain', 'skipped');
    st().onStage('sft', 'started');
    expect(st().state).toBe('running');
    expect(st().stage).toBe('sft');
    expect(st().stages.sft.state).toBe('running');
    st().onProgress({ stage: 'sft', done: 3, total: 10, etaSeconds: 14 });
    expect(st().progress.sft).toEqual({ done: 3, total: 10, etaSeconds: 14 });
    st().onStage('sft', 'done', 12.5);
    expect(st().stages.pretrain).toEqual({ state: 'skipped', seconds: undefined });
    expect(st().stages.sft).toEqual({ state: 'done', seconds: 12.5 });
    st().onStage('rm', 'started');
    st().setRunState('paused');
    expect(st().state).toBe('paused');
    st().setRunState('failed', 'rm', 'rm/loss is NaN');
    expect(st().stages.rm.state).toBe('failed');
    expect(st().error).toBe('rm/loss is NaN');
    // Stopped by a metric alarm: the stage says so (it kept its last good weights).
    st().onStage('rm', 'started');
    st().setRunState('failed', 'rm', 'rm/loss is NaN: the reward model diverged', true);
    expect(st().stages.rm.state).toBe('alarm');
    expect(st().error).toBe('rm/loss is NaN: the reward model diverged');

    const episode: Episode = { prompt: 'p', response: 'ab', score: 1, gold: 0.5, finished: true, tokens: ['a', 'b'], kl: [0.1, -0.1], advantages: [1, -1], logprobs: [-0.5, -2] };
    st().onEpisodes('ppo', 7, [episode]);
    expect(st().episodes).toEqual({ stage: 'ppo', iteration: 7, episodes: [episode] });

    const sample = (policy: string, response: string): SampleRecord => ({ prompt: 'q', response, policy, proxy: 0, gold: null });
    st().onSamples([sample('bon-4', 'x')]);
    st().onSamples([sample('sft', 'y'), sample('ppo', 'z')]);
    st().onSamples([sample('ppo', 'w')]); // eval again: replaces PPO's, keeps the rest
    expect(st().samples.map((s) => `${s.policy}:${s.response}`)).toEqual(['bon-4:x', 'sft:y', 'ppo:w']);

    const summary = { task: 'sentiment' } as unknown as Parameters<ReturnType<typeof st>['onSummary']>[0];
    st().onSummary(summary);
    expect(st().summary).toBe(summary);

    st().reset();
    expect(st().state).toBe('idle');
    expect(st().episodes).toBeUndefined();
    expect(st().samples).toEqual([]);
    expect(st().stages.rm.state).toBe('pending');
  });

  test('stopping a run puts the running stage back to pending', () => {
    const store = createRunStore({ schedule: () => () => {} });
    store.getState().onStage('ppo', 'started');
    store.getState().setRunState('stopping');
    expect(store.getState().stages.ppo.state).toBe('running');
    store.getState().setRunState('stopped');
    expect(store.getState().state).toBe('stopped');
    expect(store.getState().stages.ppo.state).toBe('pending');
  });

  test('a stage that starts while the run is paused (a step) or stopping keeps that run state; run again, it drops its old progress and the error', () => {
    const store = createRunStore({ schedule: () => () => {} });
    const st = () => store.getState();
    st().onStage('sft', 'started');
    st().onProgress({ stage: 'sft', done: 120, total: 120, etaSeconds: 0 });
    st().onStage('sft', 'done', 5);
    st().setRunState('paused');
    st().onStage('rm', 'started'); // stepping past the end of a stage: the next starts with the run still paused
    expect([st().state, st().stage, st().stages.rm.state]).toEqual(['paused', 'rm', 'running']);
    st().setRunState('stopping');
    st().onStage('ppo', 'started');
    expect([st().state, st().stage]).toEqual(['stopping', 'ppo']);
    st().setRunState('failed', 'ppo', 'ppo/loss is NaN');
    // SFT run again alone: no progress until it reports (not the old run's 120 of 120), and the failure is over.
    st().onStage('sft', 'started');
    expect(st().progress.sft).toBeUndefined();
    expect([st().state, st().error]).toEqual(['running', undefined]);
  });

  test("a stage's end commits its pending metrics at once: its final values show without waiting for the throttle", () => {
    const clock = fakeClock();
    const store = createRunStore({ intervalMs: 100, now: clock.now, schedule: clock.schedule });
    store.getState().onStage('sft', 'started');
    store.getState().onMetrics([{ stage: 'sft', step: 0, loss: 2 }]); // leading edge: committed now
    store.getState().onMetrics([{ stage: 'sft', step: 1, loss: 1.5 }]); // waits for the interval
    expect(store.getState().latest.loss?.value).toBe(2);
    store.getState().onStage('sft', 'done', 3);
    expect(store.getState().latest.loss).toEqual({ value: 1.5, stage: 'sft', step: 1 });
    expect(store.getState().recordCount).toBe(2);
  });

  test('frontier: PPO trajectory and best-of-N points', () => {
    const store = createRunStore({ schedule: () => () => {} });
    const st = () => store.getState();
    st().onStage('ppo', 'started');
    st().onMetrics([ppoRecord(0, 0, 0.1, 0.2), ppoRecord(1, 1, 0.5, 0.4), { stage: 'ppo', step: 2, 'objective/kl': 4, 'objective/scores': 0.9 }, { stage: 'ppo', step: 3, lr: 1 }]);
    st().onStage('ppo', 'done', 1);
    st().onStage('bon', 'started');
    st().onMetrics([
      { stage: 'bon', step: 1, 'bon/proxy': 0, 'bon/gold': 0.1, 'bon/kl_bound': 0 },
      { stage: 'bon', step: 4, 'bon/proxy': 0.7, 'bon/kl_bound': 4 },
    ]);
    st().flush();
    expect(st().frontier.ppo).toEqual([
      { step: 0, sqrtKl: 0, proxy: 0.1, gold: 0.2 },
      { step: 1, sqrtKl: 1, proxy: 0.5, gold: 0.4 },
      // no policy/sqrt_kl: √ of objective/kl; no gold: NaN
      { step: 2, sqrtKl: 2, proxy: 0.9, gold: NaN },
    ]);
    expect(st().frontier.bon).toEqual([
      { step: 1, sqrtKl: 0, proxy: 0, gold: 0.1 },
      { step: 4, sqrtKl: 2, proxy: 0.7, gold: NaN },
    ]);
  });

  test('a KL estimate below 0 (k1\'s batch mean can dip under it) is drawn at √KL = 0, not dropped as NaN', () => {
    const store = createRunStore({ schedule: () => () => {} });
    store.getState().onStage('ppo', 'started');
    store.getState().onMetrics([{ stage: 'ppo', step: 0, 'objective/kl': -0.01, 'objective/scores': 0.2 }]);
    store.getState().flush();
    expect(store.getState().frontier.ppo).toEqual([{ step: 0, sqrtKl: 0, proxy: 0.2, gold: NaN }]);
  });

  test('a stage run again replaces its series, records, latest values and frontier', () => {
    const store = createRunStore({ schedule: () => () => {} });
    const st = () => store.getState();
    st().onStage('sft', 'started');
    st().onMetrics([{ stage: 'sft', step: 0, loss: 2, mean_token_accuracy: 0.3 }]);
    st().onStage('ppo', 'started');
    st().onMetrics([ppoRecord(0, 1, 0.5, 0.4), ppoRecord(1, 2, 0.6, 0.5)]);
    st().flush();
    expect(st().frontier.ppo.length).toBe(2);
    st().onStage('ppo', 'started');
    expect(st().frontier.ppo).toEqual([]);
    expect(st().series.length('objective/scores', 'ppo')).toBe(0);
    expect(st().latest['objective/scores']).toBeUndefined();
    expect(st().latest.loss?.value).toBe(2);
    expect(st().records).toEqual([{ stage: 'sft', step: 0, loss: 2, mean_token_accuracy: 0.3 }]);
    st().onMetrics([ppoRecord(0, 3, 0.7)]);
    st().flush();
    expect(Array.from(st().series.get('objective/scores', 'ppo').y)).toEqual([0.7]);
  });
});

describe('sweep runs (kept for the charts)', () => {
  /** One PPO run of a sweep: `n` iterations whose proxy score is `scale`·step and gold 100 − step. */
  const ppoRun = (n: number, scale: number) => Array.from({ length: n }, (_, i) => ppoRecord(i, i, scale * i, 100 - i));

  test('each finished run is kept with its label, series and frontier when the next starts; the current is fresh', () => {
    const store = createRunStore({ schedule: () => () => {} });
    const st = () => store.getState();
    st().reset({ label: 'β = 0', first: true });
    expect(st().runLabel).toBe('β = 0');
    expect(st().keptRuns).toEqual([]);
    st().onStage('ppo', 'started');
    st().onMetrics(ppoRun(5, 1)); // not flushed: the kept run still gets every point

    st().reset({ label: 'β = 0.05', first: false });
    expect(st().runLabel).toBe('β = 0.05');
    expect(st().keptRuns.map((k) => k.label)).toEqual(['β = 0']);
    const [first] = st().keptRuns;
    expect(Array.from(first.series.get('objective/scores', 'ppo').y)).toEqual([0, 1, 2, 3, 4]);
    expect(first.frontier.ppo.map((p) => p.gold)).toEqual([100, 99, 98, 97, 96]);
    expect(st().series.length('objective/scores', 'ppo')).toBe(0);
    expect(st().frontier.ppo).toEqual([]);

    st().onStage('ppo', 'started');
    st().onMetrics(ppoRun(3, 10));
    st().reset({ label: 'β = 0.2', first: false });
    expect(st().keptRuns.map((k) => k.label)).toEqual(['β = 0', 'β = 0.05']);
    expect(st().keptRuns[0]).toBe(first); // earlier kept runs are not copied again
    expect(Array.from(st().keptRuns[1].series.get('objective/scores', 'ppo').y)).toEqual([0, 10, 20]);
    expect(st().keptRuns[1].frontier.ppo.length).toBe(3);
  });

  test('a normal reset or a new sweep drops the kept runs; clearKeptRuns leaves the current run alone', () => {
    const store = createRunStore({ schedule: () => () => {} });
    const st = () => store.getState();
    const sweep = () => {
      st().reset({ label: 'a', first: true });
      st().onMetrics(ppoRun(2, 1));
      st().reset({ label: 'b', first: false });
      st().onMetrics(ppoRun(4, 1));
      st().flush();
      expect(st().keptRuns.length).toBe(1);
    };
    sweep();
    st().reset();
    expect(st().keptRuns).toEqual([]);
    expect(st().runLabel).toBeUndefined();
    sweep();
    st().reset({ label: 'c', first: true }); // another sweep starts afresh
    expect(st().keptRuns).toEqual([]);
    expect(st().runLabel).toBe('c');
    sweep();
    st().clearKeptRuns();
    expect(st().keptRuns).toEqual([]);
    expect(st().runLabel).toBe('b');
    expect(st().series.length('objective/scores', 'ppo')).toBe(4);
    expect(st().frontier.ppo.length).toBe(4);
  });

  test(`at most MAX_KEPT_RUNS (${MAX_KEPT_RUNS}) runs are kept, the oldest dropped first`, () => {
    const store = createRunStore({ schedule: () => () => {} });
    const st = () => store.getState();
    const labels = Array.from({ length: MAX_KEPT_RUNS + 3 }, (_, i) => `run ${i}`);
    labels.forEach((label, i) => {
      st().reset({ label, first: i === 0 });
      st().onMetrics(ppoRun(2, i));
    });
    expect(st().keptRuns.map((k) => k.label)).toEqual(labels.slice(-1 - MAX_KEPT_RUNS, -1));
    // Run i logged proxy i at step 1: the kept ones are runs 2 … MAX_KEPT_RUNS + 1.
    expect(st().keptRuns.map((k) => k.series.get('objective/scores', 'ppo').y[1])).toEqual(Array.from({ length: MAX_KEPT_RUNS }, (_, j) => j + 2));
  });

  test('restoreSweep sets the label and kept runs, leaving the current run alone; the next sweep run keeps on from them', () => {
    const store = createRunStore({ schedule: () => () => {} });
    const st = () => store.getState();
    st().onStage('ppo', 'started');
    st().onMetrics(ppoRun(3, 2));
    st().flush();
    const before = { version: st().version, frontier: st().frontier, stages: st().stages };
    const series = new MetricSeries();
    series.push('objective/scores', 'ppo', 0, 42);
    const saved = { label: 'β = 0.2', series, frontier: { ppo: [{ step: 0, sqrtKl: 0, proxy: 42, gold: NaN }], bon: [] } };

    st().restoreSweep('β = 0.05', [saved]);
    expect(st().runLabel).toBe('β = 0.05');
    expect(st().keptRuns).toEqual([saved]);
    expect({ version: st().version, frontier: st().frontier, stages: st().stages }).toEqual(before);
    expect(Array.from(st().series.get('objective/scores', 'ppo').y)).toEqual([0, 2, 4]);

    st().reset({ label: 'β = 0', first: false });
    expect(st().keptRuns.map((k) => k.label)).toEqual(['β = 0.2', 'β = 0.05']);
    expect(Array.from(st().keptRuns[1].series.get('objective/scores', 'ppo').y)).toEqual([0, 2, 4]);
    // A saved sweep of more runs than are kept (written by hand, or by another version) keeps the latest MAX_KEPT_RUNS.
    const many = Array.from({ length: MAX_KEPT_RUNS + 2 }, (_, i) => ({ ...saved, label: `run ${i}` }));
    st().restoreSweep('next', many);
    expect(st().keptRuns.map((k) => k.label)).toEqual(many.slice(-MAX_KEPT_RUNS).map((k) => k.label));
    st().restoreSweep(undefined, []);
    expect([st().runLabel, st().keptRuns]).toEqual([undefined, []]);
  });
});

describe('metric exports', () => {
  const records: MetricRecord[] = [
    { stage: 'sft', step: 0, lr: 0.001, loss: 2.5 },
    { stage: 'sft', step: 1, grad_norm: 1.25, loss: 2 },
    { stage: 'ppo', step: 0, 'objective/scores': -0.5, 'val/ratio': 1, 'objective/kl': NaN },
  ];

  test('CSV: stage, step, then the metrics that occur in METRICS order; empty cells for missing ones', () => {
    expect(metricsToCsv(records)).toBe(
      'stage,step,loss,lr,grad_norm,objective/scores,objective/kl,val/ratio\n' +
        'sft,0,2.5,0.001,,,,\n' +
        'sft,1,2,,1.25,,,\n' +
        'ppo,0,,,,-0.5,NaN,1\n',
    );
    expect(metricsToCsv([])).toBe('stage,step\n');
  });

  test('CSV quotes cells with commas or quotes; unknown names follow the known ones', () => {
    const odd = [{ stage: 'sft', step: 0, 'x,"y"': 1, loss: 3 } as unknown as MetricRecord];
    expect(metricsToCsv(odd)).toBe('stage,step,loss,"x,""y"""\nsft,0,3,1\n');
  });

  test('JSONL: one JSON object per line, in the given order', () => {
    expect(metricsToJsonl(records)).toBe(
      '{"stage":"sft","step":0,"lr":0.001,"loss":2.5}\n' +
        '{"stage":"sft","step":1,"grad_norm":1.25,"loss":2}\n' +
        '{"stage":"ppo","step":0,"objective/scores":-0.5,"val/ratio":1,"objective/kl":null}\n',
    );
    expect(metricsToJsonl([])).toBe('');
  });
});
