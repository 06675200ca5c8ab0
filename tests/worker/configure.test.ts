// The worker's configure module, on the CPU: a request is accepted as the settings and task it names, or refused with
// every problem at once (settings, task, preset, custom files with their lines); a new configuration keeps of the
// session only the checkpoints its changes do not reach (and the reward model's rankings with its checkpoint), and the
// human rankings while the task stays; the previous results go.
import { describe, expect, test } from 'vitest';
import { moreProblems, SHOWN_PROBLEMS } from '../../src/model/data';
import type { Pipeline } from '../../src/rlhf/pipeline';
import type { Ranking } from '../../src/rlhf/preferences';
import { CHECKPOINT_NAMES } from '../../src/rlhf/stages';
import { acceptConfiguration, applyConfiguration, taskInfo } from '../../src/worker/configure';
import { ConfigureError } from '../../src/worker/errors';
import type { ConfigureRequest } from '../../src/worker/protocol';
import { testSession } from './fakes';

const QUICK = { seed: 3, 'sft.steps': 2 };
const request = (overrides: ConfigureRequest['overrides'] = QUICK, task = 'sentiment'): ConfigureRequest => ({ task, preset: 'nano', overrides });

function refusal(r: ConfigureRequest): ConfigureError {
  try {
    acceptConfiguration(r);
  } catch (e) {
    if (e instanceof ConfigureError) return e;
    throw e;
  }
  throw new Error('accepted');
}

describe('ConfigureError', () => {
  test(`shows the first ${SHOWN_PROBLEMS} problems, then one naming how many more, under the field of the first one left out`, () => {
    const problems = [
      ...Array.from({ length: SHOWN_PROBLEMS }, (_, i) => ({ field: 'custom.sft', line: i + 1, message: 'not JSON' })),
      ...Array.from({ length: 5 }, (_, i) => ({ field: 'custom.preferences', line: i + 1, message: 'not JSON' })),
    ];
    const e = new ConfigureError(problems);
    expect(e.problems).toHaveLength(SHOWN_PROBLEMS + 1);
    expect(e.problems.slice(0, SHOWN_PROBLEMS)).toEqual(problems.slice(0, SHOWN_PROBLEMS));
    expect(e.problems.at(-1)).toEqual({ field: 'custom.preferences', message: moreProblems(5) });
    expect(e.message).toMatch(/^the pipeline configuration was refused: custom\.sft line 1: not JSON; /);
    expect(e.message.endsWith(`; custom.preferences: ${moreProblems(5)}`)).toBe(true);
  });
});

describe('acceptConfiguration', () => {
  test('the settings and the task a request names', () => {
    const { config, task } = acceptConfiguration(request());
    expect(config).toMatchObject({ task: 'sentiment', preset: 'nano', seed: 3, sft: { steps: 2 } });
    expect(task.id).toBe('sentiment');
    expect(taskInfo(task)).toEqual({
      id: 'sentiment',
      title: task.title,
      description: task.description,
      trainPrompts: task.prompts.train.length,
      heldoutPrompts: task.prompts.heldout.length,
      demonstrations: task.demonstrations.length,
      preferences: 0,
      hasGold: true,
    });
  });

  test('every problem at once: settings, task and preset, files for a task that imports none', () => {
    const settings = refusal(request({ 'ppo.clip': 7, 'sft.steps': 'many', 'ppo.bogus': 1 }));
    expect(settings.problems.map((p) => p.field).sort()).toEqual(['ppo.bogus', 'ppo.clip', 'sft.steps']);
    expect(settings.message).toMatch(/^the pipeline configuration was refused: .*ppo\.clip: must be in \(0, 1\], got 7/);
    expect(refusal({ task: 'nowhere', preset: 'huge', overrides: {} }).problems.map((p) => p.field).sort()).toEqual(['preset', 'task']);
    expect(refusal({ ...request(), custom: { prompts: '{"prompt": "x"}' } }).problems).toEqual([{ field: 'custom', message: 'files are only imported for the custom task, not "sentiment"' }]);
  });

  test("the custom task's files are checked even when the settings are wrong, naming file and line", () => {
    const sft = ['{"prompt": "Say hi.", "completion": "hi"}', '{"prompt": "Say bye."}'].join('\n');
    const e = refusal({ task: 'custom', preset: 'nano', overrides: { 'ppo.clip': 7 }, custom: { sft } });
    expect(e.problems.map((p) => `${p.field}${p.line ? `:${p.line}` : ''}`)).toEqual(['ppo.clip', 'custom.sft:2']);
    expect(e.message).toMatch(/custom\.sft line 2: /);
  });
});

describe('applyConfiguration', () => {
  const human: Ranking = { prompt: 'p', completions: ['a', 'b'], source: 'human' };
  const rmRankings = { train: [], heldout: [] };

  /** A session configured with `first`, holding every checkpoint, rankings, results and a pipeline. */
  function configured(first: ConfigureRequest) {
    const { session } = testSession();
    applyConfiguration(session, acceptConfiguration(first));
    for (const name of CHECKPOINT_NAMES) session.checkpoints.set(name, new Uint8Array([1]));
    Object.assign(session, { rmRankings, human: [human], metrics: [{ stage: 'sft', step: 0 }], samples: [{ prompt: 'p', response: 'r', policy: 'sft', proxy: 0, gold: null }], pipeline: {} as Pipeline });
    return session;
  }

  test('the first configuration keeps nothing, and drops the results', () => {
    const { session } = testSession();
    session.metrics = [{ stage: 'sft', step: 0 }];
    expect(applyConfiguration(session, acceptConfiguration(request()))).toEqual([]);
    expect(session.configured?.config.seed).toBe(3);
    expect(session.metrics).toEqual([]);
  });

  test('only ppo.* changed: every checkpoint but the PPO policy stays, the reward model with its rankings; the results go', () => {
    const session = configured(request());
    const next = acceptConfiguration(request({ ...QUICK, 'ppo.klCoef': 0 }));
    expect(applyConfiguration(session, next)).toEqual(['base', 'sft', 'reward-model', 'reward-ensemble', 'dpo', 'grpo', 'rloo']);
    expect(session.checkpoints.has('ppo')).toBe(false);
    expect(session.rmRankings).toBe(rmRankings);
    expect(session).toMatchObject({ configured: next, pipeline: undefined, metrics: [], samples: [], human: [human] });
  });

  test('an SFT setting changed: the base model alone stays, the rankings of the reward model go with it', () => {
    const session = configured(request());
    expect(applyConfiguration(session, acceptConfiguration(request({ ...QUICK, 'sft.lr': 5e-4 })))).toEqual(['base']);
    expect(session.rmRankings).toBeUndefined();
    expect(session.human).toEqual([human]); // the same task
  });

  test('another task keeps nothing, human rankings included; so does the custom task under the same settings', () => {
    const session = configured(request());
    expect(applyConfiguration(session, acceptConfiguration(request(QUICK, 'instructions')))).toEqual([]);
    expect(session.human).toEqual([]);

    const preferences = '{"prompt": "Say hi.", "chosen": "hi", "rejected": "go away"}\n{"prompt": "Say bye.", "chosen": "bye", "rejected": "no"}';
    const custom = { ...request(QUICK, 'custom'), custom: { preferences, sft: '{"prompt": "Say hi.", "completion": "hi"}' } };
    const again = configured(custom);
    expect(applyConfiguration(again, acceptConfiguration(custom))).toEqual([]);
    expect(again.human).toEqual([]);
  });
});
