// A lost GPU device in the engine, in Node (Dawn on SwiftShader): the host hands out a fresh runtime per call, and a
// test "loses" the engine's device by destroying it. A loss during a run ends the run as failed with one 'device-lost'
// error (a paused run too: it never waits at its gate for good); GPU commands are then refused with the loss, CPU ones
// still answer; `recover` gets a new device from the host, rebuilds the base model and the configured pipeline on it
// with the kept checkpoints as weights, so a later stage (SFT on the pretrained base) runs without the earlier ones. Recovery without an adapter
// fails with a "recover:" error and leaves the engine lost until a later `recover` works; with a working device
// `recover` answers at once. A nano pipeline with a few steps per stage keeps it quick.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { type GpuRuntime, NoAdapterError } from '../../src/gpu';
import { createNodeRuntime } from '../../src/gpu/node';
import { createEngine, type Engine } from '../../src/worker/engine';
import type { Command, EngineEvent } from '../../src/worker/protocol';

type Of<T extends EngineEvent['type']> = Extract<EngineEvent, { type: T }>;

/** An engine whose host makes a new Node runtime per call (or none, when `noAdapter` is set), with its events. */
function lab() {
  const events: EngineEvent[] = [];
  const waiters: (() => void)[] = [];
  const runtimes: GpuRuntime[] = [];
  const host = { noAdapter: false };
  const engine: Engine = createEngine(
    (event) => {
      events.push(event);
      for (const w of waiters.splice(0)) w();
    },
    {
      runtime: async () => {
        if (host.noAdapter) throw new NoAdapterError('node');
        const rt = await createNodeRuntime();
        runtimes.push(rt);
        return rt;
      },
      asset: async (path) => new Uint8Array(await readFile(join('public', path))),
    },
  );
  const of = <T extends EngineEvent['type']>(type: T, from = 0) => events.slice(from).filter((e): e is Of<T> => e.type === type);
  /** Resolves once an event of `type` from index `from` on matches. */
  const waitFor = async <T extends EngineEvent['type']>(type: T, from: number, match: (e: Of<T>) => boolean = () => true): Promise<Of<T>> => {
    for (;;) {
      const found = of(type, from).find(match);
      if (found) return found;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return {
    events,
    runtimes,
    host,
    of,
    waitFor,
    send: (command: Command) => engine.handle(command),
    get mark() {
      return events.length;
    },
    /** The device the engine works on, lost the way a driver reset loses it (its `lost` promise resolves). */
    loseDevice: () => runtimes.at(-1)!.device.destroy(),
    errors: (from = 0) => of('error', from).map((e) => `${e.kind}: ${e.message}`),
    states: (from = 0) => of('pipeline-state', from).map((e) => e.state),
  };
}

const QUICK = { seed: 3, 'pretrain.steps': 4, 'sft.steps': 2 };
const LOST = /^device-lost: The GPU device was lost \(destroyed\)/;

describe('a lost device in the engine', () => {
  const made: ReturnType<typeof lab>[] = [];
  afterAll(() => made.flatMap((l) => l.runtimes).forEach((rt) => rt.destroy()));

  test('a loss mid-run fails the run with one device-lost error; recover rebuilds on a new device and later stages run from the kept checkpoints', { timeout: 300_000 }, async () => {
    const e = lab();
    made.push(e);
    await e.send({ type: 'init' });
    await e.send({ type: 'configure', task: 'sentiment', preset: 'nano', overrides: QUICK });
    await e.send({ type: 'start', stages: ['pretrain'] });
    expect(e.states().at(-1)).toBe('done');
    expect(e.of('checkpoint').map((c) => c.name)).toEqual(['base']);
    let from = e.mark;
    await e.send({ type: 'checkpoint-data', name: 'base' });
    const baseBytes = e.of('checkpoint-data', from)[0].bytes;

    // The device goes while the SFT stage runs.
    from = e.mark;
    const run = e.send({ type: 'start', stages: ['sft'] });
    await e.waitFor('stage', from, (s) => s.stage === 'sft' && s.state === 'started');
    e.loseDevice();
    await run;
    expect(e.states(from).at(-1)).toBe('failed');
    expect(e.errors(from)).toEqual([expect.stringMatching(LOST)]);
    expect(e.of('checkpoint', from)).toEqual([]);

    // While lost: GPU commands are refused with the loss; CPU ones (configuration echo, checkpoint bytes) still answer.
    from = e.mark;
    await e.send({ type: 'generate', prompt: 'Once upon a time', maxNewTokens: 3, temperature: 0, seed: 1 });
    await e.send({ type: 'start', stages: ['sft'] });
    expect(e.errors(from)).toEqual([expect.stringMatching(LOST), expect.stringMatching(LOST)]);
    expect(e.of('pipeline-state', from)).toEqual([]);
    await e.send({ type: 'checkpoint-data', name: 'base' });
    expect(e.of('checkpoint-data', from)[0].bytes).toEqual(baseBytes);

    // recover: a second runtime from the host; the base model again, the run state idle, the checkpoints named.
    from = e.mark;
    await e.send({ type: 'recover' });
    expect(e.errors(from)).toEqual([]);
    expect(e.runtimes).toHaveLength(2);
    const [recovered] = e.of('recovered', from);
    expect(recovered.adapter).toEqual(e.runtimes[1].adapter);
    expect(recovered.checkpoints).toEqual(['base']);
    expect(e.of('model', from)).toHaveLength(1);
    expect(e.states(from)).toEqual(['idle']);
    expect(e.events.at(-1)!.type).toBe('recovered'); // last: everything is ready when the page hears it

    // The engine works again: sampling, and the SFT stage alone (it needs the pretrained base weights, restored).
    from = e.mark;
    await e.send({ type: 'generate', prompt: 'Once upon a time', maxNewTokens: 3, temperature: 0, seed: 1 });
    expect(e.of('sample', from)[0].text).toMatch(/\S/);
    await e.send({ type: 'start', stages: ['sft'] });
    expect(e.errors(from)).toEqual([]);
    expect(e.states(from).at(-1)).toBe('done');
    expect(e.of('stage', from).map((s) => `${s.stage} ${s.state}`)).toEqual(['sft started', 'sft done']);
    expect(e.of('checkpoint', from).map((c) => c.name)).toEqual(['sft']);
  });

  test('a paused run fails when the device goes; recover without an adapter fails and can be tried again', { timeout: 300_000 }, async () => {
    const e = lab();
    made.push(e);
    await e.send({ type: 'init' });
    // With a working device recover answers at once, on the same device.
    let from = e.mark;
    await e.send({ type: 'recover' });
    expect(e.of('recovered', from)).toEqual([{ type: 'recovered', adapter: e.runtimes[0].adapter, checkpoints: [] }]);
    expect(e.runtimes).toHaveLength(1);

    await e.send({ type: 'configure', task: 'sentiment', preset: 'nano', overrides: { ...QUICK, 'pretrain.steps': 200 } });
    from = e.mark;
    const run = e.send({ type: 'start', stages: ['pretrain'] });
    await e.waitFor('metrics', from);
    await e.send({ type: 'pause' });
    await e.waitFor('pipeline-state', from, (s) => s.state === 'paused');
    e.loseDevice();
    await run; // ends: a paused run does not wait at its gate for good
    expect(e.states(from)).toEqual(['running', 'paused', 'failed']);
    expect(e.errors(from)).toEqual([expect.stringMatching(LOST)]);

    // No adapter now: recover fails with a "recover:" device-lost error, and the engine stays lost.
    e.host.noAdapter = true;
    from = e.mark;
    await e.send({ type: 'recover' });
    expect(e.errors(from)).toEqual([expect.stringMatching(/^device-lost: recover: .*No WebGPU adapter in node/)]);
    expect(e.of('recovered', from)).toEqual([]);
    await e.send({ type: 'generate', prompt: 'Once', maxNewTokens: 2, temperature: 0, seed: 1 });
    expect(e.errors(from).at(-1)).toMatch(LOST);

    // An adapter again: the next recover works (no checkpoints were made: pretraining never finished).
    e.host.noAdapter = false;
    from = e.mark;
    await e.send({ type: 'recover' });
    expect(e.errors(from)).toEqual([]);
    expect(e.of('recovered', from)).toEqual([{ type: 'recovered', adapter: e.runtimes[1].adapter, checkpoints: [] }]);
    const again = e.send({ type: 'start', stages: ['pretrain'] });
    await e.waitFor('metrics', from); // pretraining again, on the new device
    await e.send({ type: 'stop' });
    await again;
    expect(e.states(from)).toEqual(['idle', 'running', 'stopping', 'stopped']);
    expect(e.errors(from)).toEqual([]);
  });
});
