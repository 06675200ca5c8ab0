// Stand-ins for the unit tests of the engine's modules (src/worker), so they run without a GPU: a runtime whose device
// a test can lose, the events a Post receives, small checkpoints of the nano preset built on the CPU, and a session
// that reads the bundled files from public/.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type GpuRuntime, memoryBudget } from '../../src/gpu';
import { loadCheckpoint, saveCheckpoint } from '../../src/model/checkpoint';
import { type GPTConfig, type HeadName, makeConfig, parameterShapes } from '../../src/model/config';
import { tokenizerFromJSON } from '../../src/model/tokenizer';
import { BASE_MODEL_PATH, type EngineEvent } from '../../src/worker/protocol';
import { createSession, type Session } from '../../src/worker/session';
import { softwareAdapter } from '../helpers/lab-stores';

type Of<T extends EngineEvent['type']> = Extract<EngineEvent, { type: T }>;

/**
 * A runtime with an adapter, a device that `lose` loses (as a driver reset would: its `lost` promise resolves), the
 * memory budget of a 16 GiB machine with 1 GiB buffers (a pipeline checks a run's memory against it) and an empty
 * buffer pool (a stage trims it before it starts).
 */
export function fakeRuntime(name: string): { rt: GpuRuntime; lose: (reason?: string) => void } {
  let lose!: (info: { reason: string; message: string }) => void;
  const lost = new Promise<{ reason: string; message: string }>((resolve) => (lose = resolve));
  const memory = memoryBudget({ maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 }, 16 * 2 ** 30);
  const rt = { adapter: softwareAdapter(name), device: { lost }, isLost: false, memory, buffers: { trim: () => {} } };
  return {
    rt: rt as unknown as GpuRuntime,
    lose: (reason = 'unknown') => {
      rt.isLost = true;
      lose({ reason, message: 'reset' });
    },
  };
}

/** Every event posted, with the buffers each hands over. */
export function recorder() {
  const events: EngineEvent[] = [];
  const transfers: Transferable[][] = [];
  const of = <T extends EngineEvent['type']>(type: T, from = 0) => events.slice(from).filter((e): e is Of<T> => e.type === type);
  return {
    events,
    transfers,
    post: (event: EngineEvent, transfer: Transferable[] = []) => {
      events.push(event);
      transfers.push(transfer);
    },
    of,
    errors: (from = 0) => of('error', from).map((e) => `${e.kind}: ${e.message}`),
    get mark() {
      return events.length;
    },
  };
}

/** Whether two files hold the same bytes (quicker than a deep toEqual on large arrays). */
export const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Lets promise callbacks (a lost device's, a handler's next step) run. */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A bundled file, as the engine's host reads it in Node. */
export const publicAsset = async (path: string) => new Uint8Array(await readFile(join('public', path)));

/** A session over a recorder, reading the bundled files from public/. */
export function testSession(): { session: Session; rec: ReturnType<typeof recorder> } {
  const rec = recorder();
  return { session: createSession(rec.post, { asset: publicAsset }), rec };
}

let nano: Promise<{ config: GPTConfig; tokenizerJson: unknown }> | undefined;

/** The nano preset's architecture with the bundled tokenizer (what a nano pipeline's checkpoints have). */
export function nanoModel(): Promise<{ config: GPTConfig; tokenizerJson: unknown }> {
  nano ??= publicAsset(BASE_MODEL_PATH).then((bytes) => {
    const { tokenizerJson } = loadCheckpoint(bytes);
    return { config: makeConfig('nano', { vocabSize: tokenizerFromJSON(tokenizerJson).vocabSize, dropout: 0 }), tokenizerJson };
  });
  return nano;
}

/** Weights of `config` (and `head`), every value `fill`. */
export function filledWeights(config: GPTConfig, fill: number, head?: HeadName): Record<string, Float32Array> {
  return Object.fromEntries(parameterShapes(config, head).map(({ name, shape }) => [name, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill)]));
}

/** A checkpoint file of `config` (and `head`) with every weight `fill`. */
export function checkpointBytes(model: { config: GPTConfig; tokenizerJson: unknown }, fill: number, head?: HeadName): Uint8Array {
  return saveCheckpoint(filledWeights(model.config, fill, head), model.config, model.tokenizerJson);
}
