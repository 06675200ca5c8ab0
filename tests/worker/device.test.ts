// The worker's device module with stand-in runtimes (no GPU): the runtime is asked of the host once (again after a
// failed try); a loss is reported once through the hook and refuses exactly the GPU commands; `recover` with a working
// device answers at once, after a loss waits for the broken work to settle, asks the host for a new device, rebuilds
// and only then counts as recovered (a second `recover` meanwhile shares the replacement); a failed replacement is a
// "recover:" error that leaves the engine lost until a later `recover` works.
import { describe, expect, test } from 'vitest';
import { DeviceLostError, type GpuRuntime, NoAdapterError } from '../../src/gpu';
import { Device, GPU_COMMANDS } from '../../src/worker/device';
import { RecoverError } from '../../src/worker/errors';
import type { Command } from '../../src/worker/protocol';
import { fakeRuntime, settle, testSession } from './fakes';

const COMMANDS: Command['type'][] = ['init', 'generate', 'load-base', 'export', 'configure', 'start', 'pause', 'resume', 'step', 'stop', 'label-request', 'labels', 'clear-labels', 'restore', 'recover', 'checkpoint-data', 'policy-onnx', 'policy-greedy'];

/** A Device over a host handing out fake runtimes (failing while `failing` is set), with every hook call logged. */
function setup() {
  const { session, rec } = testSession();
  session.checkpoints.set('base', new Uint8Array(1)).set('sft', new Uint8Array(1));
  const made: ReturnType<typeof fakeRuntime>[] = [];
  const log: string[] = [];
  const host = {
    failing: undefined as Error | undefined,
    rebuildFails: false,
    loseOnRebuild: false,
    settled: Promise.resolve(),
    runtime: async () => {
      log.push('host');
      if (host.failing) throw host.failing;
      made.push(fakeRuntime(`gpu ${made.length}`));
      return made.at(-1)!.rt;
    },
  };
  const device = new Device(session, host, {
    lost: (e) => log.push(`lost: ${e.message}`),
    settled: async () => {
      log.push('settling');
      await host.settled;
      log.push('settled');
    },
    rebuild: async (rt: GpuRuntime) => {
      log.push(`rebuild on ${rt.adapter.device}`);
      if (host.rebuildFails) throw new Error('the base model broke');
      if (host.loseOnRebuild) made.find((m) => m.rt === rt)!.lose();
    },
    recovered: () => log.push('recovered'),
  });
  return { device, host, made, log, rec };
}

describe('the device', () => {
  test('the runtime is asked of the host at first use, once; a failed try is not kept', async () => {
    const { device, host, log } = setup();
    host.failing = new NoAdapterError('node');
    await expect(device.gpu()).rejects.toBeInstanceOf(NoAdapterError);
    await settle();
    host.failing = undefined;
    const rt = await device.gpu();
    expect(await device.gpu()).toBe(rt);
    expect(log).toEqual(['host', 'host']);
  });

  test('a loss is reported once and refuses the GPU commands, only them', async () => {
    const { device, made, log } = setup();
    await device.gpu();
    for (const c of COMMANDS) expect(device.refusal(c)).toBeUndefined();
    made[0].lose('destroyed');
    await settle();
    expect(log).toEqual(['host', expect.stringMatching(/^lost: The GPU device was lost \(destroyed\): reset/)]);
    expect(device.lost).toBeInstanceOf(DeviceLostError);
    expect(COMMANDS.filter((c) => device.refusal(c) !== undefined)).toEqual(['init', 'generate', 'load-base', 'start', 'label-request', 'policy-onnx', 'policy-greedy']);
    expect([...GPU_COMMANDS].sort()).toEqual(['generate', 'init', 'label-request', 'load-base', 'policy-greedy', 'policy-onnx', 'start']);
    for (const c of GPU_COMMANDS) expect(device.refusal(c)).toBe(device.lost);
  });

  test('recover with a working device answers at once, on the same device, naming the checkpoints kept', async () => {
    const { device, made, log, rec } = setup();
    await device.recover();
    expect(rec.events).toEqual([{ type: 'recovered', adapter: made[0].rt.adapter, checkpoints: ['base', 'sft'] }]);
    expect(log).toEqual(['host']);
  });

  test('recover after a loss: the broken work settles, a new device, the rebuild, then recovered; a second recover shares it', async () => {
    const { device, host, made, log, rec } = setup();
    await device.gpu();
    made[0].lose();
    await settle();
    let release!: () => void;
    host.settled = new Promise((resolve) => (release = resolve));
    const first = device.recover();
    const second = device.recover();
    await settle();
    expect(log.slice(2)).toEqual(['settling']); // nothing is rebuilt while the broken run goes on
    release();
    await Promise.all([first, second]);
    expect(log.slice(2)).toEqual(['settling', 'settled', 'host', 'rebuild on gpu 1', 'recovered']);
    expect(rec.events).toEqual([1, 2].map(() => ({ type: 'recovered', adapter: made[1].rt.adapter, checkpoints: ['base', 'sft'] })));
    expect(device.lost).toBeUndefined();
    expect(device.refusal('start')).toBeUndefined();
    expect(await device.gpu()).toBe(made[1].rt);
  });

  test('a failed replacement is a "recover:" error and leaves the engine lost; a later recover works', async () => {
    const { device, host, made, log, rec } = setup();
    await device.gpu();
    made[0].lose();
    await settle();

    host.failing = new NoAdapterError('node');
    await expect(device.recover()).rejects.toThrow(/^recover: the engine could not be rebuilt on a new GPU device — No WebGPU adapter in node/);
    host.failing = undefined;
    host.rebuildFails = true;
    await expect(device.recover()).rejects.toThrow(new RecoverError('recover: the engine could not be rebuilt on a new GPU device — the base model broke'));
    host.rebuildFails = false;
    host.loseOnRebuild = true; // the new device is lost while the engine is rebuilt on it
    await expect(device.recover()).rejects.toThrow(/^recover: .* — the new device was lost as well$/);
    expect(device.refusal('generate')).toBeInstanceOf(DeviceLostError);
    expect(rec.events).toEqual([]);
    expect(log).not.toContain('recovered');

    host.loseOnRebuild = false;
    await device.recover();
    expect(device.lost).toBeUndefined();
    expect(rec.events).toEqual([{ type: 'recovered', adapter: made.at(-1)!.rt.adapter, checkpoints: ['base', 'sft'] }]);
  });
});
