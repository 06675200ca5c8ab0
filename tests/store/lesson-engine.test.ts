// The KL-sweep lesson run by the lab store against the real engine (Dawn on SwiftShader), as the page runs it: the
// lesson's own runs (labels and β, in its order) on the nano preset cut to a step or two per stage. The first run
// trains the base, SFT and the reward model; the worker keeps them through the next configurations (only ppo.*
// changes), so runs 2 and 3 start only PPO and the evaluation; the run store keeps each finished run, labelled, for
// the charts to overlay.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { GpuRuntime } from '../../src/gpu';
import { createNodeRuntime } from '../../src/gpu/node';
import { createLabStore } from '../../src/store';
import { routeEvent } from '../../src/store/bridge';
import { createRunStore } from '../../src/store/run';
import { findLesson, lessonSteps } from '../../src/ui/lessons';
import { createEngine } from '../../src/worker/engine';
import type { Command, EngineEvent } from '../../src/worker/protocol';

const CUT = { seed: 5, 'pretrain.steps': 4, 'sft.steps': 2, 'labels.prompts': 4, 'ppo.batchSize': 4, 'ppo.episodes': 8, 'ppo.klEstimator': 'k3', 'eval.prompts': 2 };

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await createNodeRuntime();
});
afterAll(() => rt?.destroy());

test('the KL sweep on the engine: run 1 trains SFT and the reward model, runs 2 and 3 reuse them; each run is kept, labelled', { timeout: 300_000 }, async () => {
  const lab = createLabStore();
  const run = createRunStore({ schedule: () => () => {} });
  const events: EngineEvent[] = [];
  const sent: Command[] = [];
  const handling: Promise<void>[] = [];
  const engine = createEngine(
    (event) => {
      events.push(event);
      routeEvent(event, { lab, run });
    },
    { runtime: async () => rt, asset: async (path) => new Uint8Array(await readFile(join('public', path))) },
  );
  lab.setState({
    send: (command) => {
      sent.push(command);
      // Later, as a worker answers: never from within the store's own call.
      handling.push(Promise.resolve().then(() => engine.handle(command)));
    },
  });
  await engine.handle({ type: 'init' });

  // The lesson's runs, each with its β only (the β = 0 run's longer schedule is for the tiny preset), on cut-down nano.
  const lesson = findLesson('kl-sweep')!;
  const steps = lessonSteps({ ...lesson, preset: 'nano', overrides: CUT, runs: lesson.runs!.map((r) => ({ label: r.label, overrides: { 'ppo.klCoef': r.overrides['ppo.klCoef'] } })) });
  lab.getState().startLesson(lesson.id, lesson.title, steps);
  // Each step's start is sent from the handler of the event before it: wait until nothing is left to handle.
  while (handling.length > 0) await handling.shift();

  const errors = events.filter((e) => e.type === 'error');
  expect(errors).toEqual([]);
  expect(lab.getState().pipelineError).toBeUndefined();
  const lessonRun = lab.getState().lessonRun!;
  expect(lessonRun.state).toBe('done');
  expect(lessonRun.results).toEqual([{ reused: [] }, { reused: ['pretrain', 'sft', 'rm'] }, { reused: ['pretrain', 'sft', 'rm'] }]);
  expect(sent.filter((c) => c.type === 'start')).toEqual([
    { type: 'start', stages: ['pretrain', 'sft', 'rm', 'ppo', 'eval'] },
    { type: 'start', stages: ['ppo', 'eval'] },
    { type: 'start', stages: ['ppo', 'eval'] },
  ]);
  // The worker kept base, SFT and the reward model for runs 2 and 3; each stage ran as often as the starts say.
  const kept = events.flatMap((e) => (e.type === 'pipeline-config' ? [e.kept] : []));
  expect(kept).toEqual([[], ['base', 'sft', 'reward-model'], ['base', 'sft', 'reward-model']]);
  const started = (stage: string) => events.filter((e) => e.type === 'stage' && e.state === 'started' && e.stage === stage).length;
  expect([started('pretrain'), started('sft'), started('rm'), started('ppo'), started('eval')]).toEqual([1, 1, 1, 3, 3]);

  // The charts' data: the first two runs kept with their labels (the first with SFT's curve, the second PPO's only),
  // the current run labelled β = 0, with PPO points and no SFT points of its own.
  const r = run.getState();
  expect(r.runLabel).toBe('β = 0');
  expect(r.keptRuns.map((k) => k.label)).toEqual(['β = 0.2', 'β = 0.05']);
  const points = (series: typeof r.series, metric: string, stage: 'sft' | 'ppo') => series.get(metric, stage).y.length;
  const [first, second] = r.keptRuns;
  expect(points(first.series, 'loss', 'sft')).toBeGreaterThan(0);
  expect(points(second.series, 'loss', 'sft')).toBe(0);
  for (const k of r.keptRuns) expect(points(k.series, 'objective/kl', 'ppo')).toBe(2);
  expect(points(r.series, 'objective/kl', 'ppo')).toBe(2);
  expect(points(r.series, 'loss', 'sft')).toBe(0);
  expect(r.keptRuns.map((k) => k.frontier.ppo.length)).toEqual([2, 2]);
});
