// What the lab keeps across reloads, in IndexedDB (one database, "rlhf-lab", through `idb`): the configuration you
// sent, the run's metric records and evaluation samples, your human labels (rankings, source 'human'), the
// pipeline's checkpoints (safetensors bytes) and a sweep's earlier runs (the run store's keptRuns, for the charts).
// `load()` reads it all back; `clearSavedData()` wipes it.
//
// How it fills: createPersistenceRecorder sits between the page and the worker and mirrors what the page's run
// store keeps — every metric record and sample; a stage run again replaces that stage's records (the run store
// does the same); a new configuration starts afresh, but for the checkpoints the worker kept (those the change of
// settings leaves valid: the 'pipeline-config' event's `kept`). Checkpoint events carry only sizes, so the recorder
// asks the worker for the bytes (`checkpoint-data`, no download). Labels are rebuilt page-side from the
// `label-items` the worker sent and the `labels` command you sent. The sweep is page state the worker never sees:
// the session hands it to the recorder (`sweep`) whenever the run store's kept runs or run label change.
// How it resumes: recorder.resume(saved) sends restoreCommands(saved): the `configure` and `restore` commands that put the configuration,
// the checkpoints (as the pipeline's weights) and your labels back into the worker; savedEvents(saved) the
// `metrics`/`samples` events that refill the run store's charts and tables; the session puts the sweep back into the
// run store (restoreSweep) after them.
//
// createMemoryStorage is the same storage in memory: for Node tests, and a fallback where IndexedDB is unavailable
// (some private-browsing modes).
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import type { MetricRecord } from '../rlhf/metrics';
import { CHECKPOINT_NAMES } from '../rlhf/stages';
import type {
  CheckpointBytes,
  Command,
  ConfigureRequest,
  EngineEvent,
  LabelItem,
  PipelineCheckpointName,
  PipelineStage,
  Ranking,
  SampleRecord,
} from '../worker/protocol';
import type { KeptRun, SeriesColumn } from './run';

export const DB_NAME = 'rlhf-lab';
/** 1: config, metrics, samples, labels, checkpoints; 2: + sweep; 3: the evaluation's metrics named per policy. */
export const DB_VERSION = 3;

/**
 * Metric names of version 2 and what they are now: the evaluation reports a win rate per trained policy
 * (eval/win_rate_<stage>), and version 2 had only PPO's.
 */
export const RENAMED_METRICS: Readonly<Record<string, string>> = {
  'eval/win_rate': 'eval/win_rate_ppo',
  'eval/win_rate_lo': 'eval/win_rate_lo_ppo',
  'eval/win_rate_hi': 'eval/win_rate_hi_ppo',
};

/** A record with its renamed metrics under their new names (the same object when none is renamed). */
function renameMetrics<R extends object>(record: R): R {
  if (!Object.keys(record).some((k) => Object.hasOwn(RENAMED_METRICS, k))) return record;
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [RENAMED_METRICS[k] ?? k, v])) as R;
}

/** The configuration as the page sent it (so `configure` can be sent again), and the lesson it came from, if any. */
export type SavedConfig = ConfigureRequest & { lesson?: string };

/** A sweep's finished run as saved: src/store/run.ts KeptRun with its series as plain columns. */
export interface SavedKeptRun {
  label: string;
  series: SeriesColumn[];
  frontier: KeptRun['frontier'];
}

/** The run store's sweep: the current run's label and the runs kept before it (oldest first). */
export interface SavedSweep {
  runLabel: string | undefined;
  runs: SavedKeptRun[];
}

export interface SavedLab {
  config: SavedConfig | undefined;
  metrics: MetricRecord[];
  samples: SampleRecord[];
  labels: Ranking[];
  checkpoints: CheckpointBytes[];
  /** Absent when no sweep is saved. */
  sweep?: SavedSweep;
}

/** Where saved data goes: IndexedDB (openLabStorage) or memory (createMemoryStorage). Writes keep their order. */
export interface LabStorage {
  saveConfig(config: SavedConfig): Promise<void>;
  appendMetrics(records: readonly MetricRecord[]): Promise<void>;
  appendSamples(samples: readonly SampleRecord[]): Promise<void>;
  addLabels(rankings: readonly Ranking[]): Promise<void>;
  clearLabels(): Promise<void>;
  /** Latest bytes per checkpoint name. */
  saveCheckpoint(name: PipelineCheckpointName, bytes: Uint8Array): Promise<void>;
  /** Drops one stage's metric records and the samples it made (the stage is being run again). */
  clearStage(stage: PipelineStage): Promise<void>;
  /** Drops metrics, samples and the checkpoints not named in `keptCheckpoints` (a new configuration: the worker kept
   * those); the config, labels and sweep stay. */
  clearRun(keptCheckpoints?: readonly PipelineCheckpointName[]): Promise<void>;
  /** Replaces the saved sweep; one with no label and no runs removes it. */
  saveSweep(sweep: SavedSweep): Promise<void>;
  load(): Promise<SavedLab>;
  /** Wipes everything. */
  clear(): Promise<void>;
  close(): void;
}

/** Which stage made a sample (its `policy`: 'bon-<N>' from best-of-N, 'sft' or a trained policy's from the evaluation). */
const sampleStage = (s: SampleRecord): PipelineStage => (s.policy.startsWith('bon-') ? 'bon' : 'eval');

interface LabDB extends DBSchema {
  config: { key: string; value: SavedConfig };
  metrics: { key: number; value: MetricRecord; indexes: { stage: string } };
  samples: { key: number; value: SampleRecord & { stage: PipelineStage }; indexes: { stage: string } };
  labels: { key: number; value: Ranking };
  checkpoints: { key: string; value: CheckpointBytes };
  sweep: { key: string; value: SavedSweep };
}

const STORES = ['config', 'metrics', 'samples', 'labels', 'checkpoints', 'sweep'] as const;
/** The key of the one record in 'config' and in 'sweep'. */
const CURRENT_KEY = 'current';

const isEmptySweep = (sweep: SavedSweep) => sweep.runLabel === undefined && sweep.runs.length === 0;

/** Opens (creating on first use, upgrading an older version's and keeping its data) the lab's database. */
export async function openLabStorage(name = DB_NAME): Promise<LabStorage> {
  const db: IDBPDatabase<LabDB> = await openDB<LabDB>(name, DB_VERSION, {
    async upgrade(d, oldVersion, _newVersion, tx) {
      if (oldVersion < 1) {
        d.createObjectStore('config');
        d.createObjectStore('metrics', { autoIncrement: true }).createIndex('stage', 'stage');
        d.createObjectStore('samples', { autoIncrement: true }).createIndex('stage', 'stage');
        d.createObjectStore('labels', { autoIncrement: true });
        d.createObjectStore('checkpoints', { keyPath: 'name' });
      }
      if (oldVersion < 2) d.createObjectStore('sweep');
      if (oldVersion >= 1 && oldVersion < 3) {
        // Saved metric records and a sweep's kept series take the metrics' new names.
        for (let c = await tx.objectStore('metrics').openCursor(); c; c = await c.continue()) {
          const renamed = renameMetrics(c.value);
          if (renamed !== c.value) await c.update(renamed);
        }
        const sweep = await tx.objectStore('sweep').get(CURRENT_KEY);
        if (sweep) {
          const runs = sweep.runs.map((r) => ({ ...r, series: r.series.map((col) => ({ ...col, name: RENAMED_METRICS[col.name] ?? col.name })) }));
          await tx.objectStore('sweep').put({ ...sweep, runs }, CURRENT_KEY);
        }
      }
    },
  });
  const deleteWhere = async (store: 'metrics' | 'samples', stage: PipelineStage) => {
    const tx = db.transaction(store, 'readwrite');
    for (let cursor = await tx.store.index('stage').openCursor(stage); cursor; cursor = await cursor.continue()) await cursor.delete();
    await tx.done;
  };
  const addAll = async <S extends 'metrics' | 'samples' | 'labels'>(store: S, values: readonly LabDB[S]['value'][]) => {
    if (values.length === 0) return;
    const tx = db.transaction(store, 'readwrite');
    await Promise.all([...values.map((v) => tx.store.add(v)), tx.done]);
  };
  const clearStores = async (stores: readonly (typeof STORES)[number][]) => {
    const tx = db.transaction(stores, 'readwrite');
    await Promise.all([...stores.map((s) => tx.objectStore(s).clear()), tx.done]);
  };
  return {
    saveConfig: async (config) => void (await db.put('config', structuredClone(config), CURRENT_KEY)),
    appendMetrics: (records) => addAll('metrics', records),
    appendSamples: (samples) => addAll('samples', samples.map((s) => ({ ...s, stage: sampleStage(s) }))),
    addLabels: (rankings) => addAll('labels', rankings),
    clearLabels: () => clearStores(['labels']),
    saveCheckpoint: async (name, bytes) => void (await db.put('checkpoints', { name, bytes: new Uint8Array(bytes) })),
    clearStage: async (stage) => {
      await deleteWhere('metrics', stage);
      await deleteWhere('samples', stage);
    },
    clearRun: async (keptCheckpoints = []) => {
      const tx = db.transaction(['metrics', 'samples', 'checkpoints'], 'readwrite');
      const checkpoints = tx.objectStore('checkpoints');
      const dropped = (await checkpoints.getAllKeys()).filter((n) => !keptCheckpoints.includes(n as PipelineCheckpointName));
      await Promise.all([tx.objectStore('metrics').clear(), tx.objectStore('samples').clear(), ...dropped.map((n) => checkpoints.delete(n)), tx.done]);
    },
    saveSweep: async (sweep) => {
      if (isEmptySweep(sweep)) await db.delete('sweep', CURRENT_KEY);
      else await db.put('sweep', sweep, CURRENT_KEY);
    },
    load: async () => {
      const tx = db.transaction(STORES, 'readonly');
      const [config, metrics, samples, labels, checkpoints, sweep] = await Promise.all([
        tx.objectStore('config').get(CURRENT_KEY),
        tx.objectStore('metrics').getAll(),
        tx.objectStore('samples').getAll(),
        tx.objectStore('labels').getAll(),
        tx.objectStore('checkpoints').getAll(),
        tx.objectStore('sweep').get(CURRENT_KEY),
      ]);
      await tx.done;
      return { config, metrics, samples: samples.map(({ stage: _stage, ...s }) => s), labels, checkpoints: sortCheckpoints(checkpoints), sweep };
    },
    clear: () => clearStores(STORES),
    close: () => db.close(),
  };
}

const sortCheckpoints = (c: CheckpointBytes[]) => c.sort((a, b) => CHECKPOINT_NAMES.indexOf(a.name) - CHECKPOINT_NAMES.indexOf(b.name));

/** Everything saved in the lab's database (empty lists and no config when nothing is). */
export async function load(name = DB_NAME): Promise<SavedLab> {
  const storage = await openLabStorage(name);
  try {
    return await storage.load();
  } finally {
    storage.close();
  }
}

/** Wipes the lab's database. */
export async function clearSavedData(name = DB_NAME): Promise<void> {
  const storage = await openLabStorage(name);
  try {
    await storage.clear();
  } finally {
    storage.close();
  }
}

/** The same storage in memory (values copied in and out, as IndexedDB's structured clone does). */
export function createMemoryStorage(): LabStorage {
  let data: SavedLab = { config: undefined, metrics: [], samples: [], labels: [], checkpoints: [] };
  const copy = <T>(x: T): T => structuredClone(x);
  return {
    saveConfig: async (config) => void (data.config = copy(config)),
    appendMetrics: async (records) => void data.metrics.push(...copy(records)),
    appendSamples: async (samples) => void data.samples.push(...copy(samples)),
    addLabels: async (rankings) => void data.labels.push(...copy(rankings)),
    clearLabels: async () => void (data.labels = []),
    saveCheckpoint: async (name, bytes) => {
      data.checkpoints = sortCheckpoints([...data.checkpoints.filter((c) => c.name !== name), { name, bytes: new Uint8Array(bytes) }]);
    },
    clearStage: async (stage) => {
      data.metrics = data.metrics.filter((r) => r.stage !== stage);
      data.samples = data.samples.filter((s) => sampleStage(s) !== stage);
    },
    clearRun: async (keptCheckpoints = []) => {
      Object.assign(data, { metrics: [], samples: [], checkpoints: data.checkpoints.filter((c) => keptCheckpoints.includes(c.name)) });
    },
    saveSweep: async (sweep) => void (data.sweep = isEmptySweep(sweep) ? undefined : copy(sweep)),
    load: async () => copy(data),
    clear: async () => void (data = { config: undefined, metrics: [], samples: [], labels: [], checkpoints: [] }),
    close: () => {},
  };
}

export interface PersistenceRecorder {
  /** Every command the page sends to the worker (configure, labels, clear-labels are saved). */
  command(command: Command): void;
  /** Every event from the worker (metrics, samples, stage starts, checkpoints, label items are saved or acted on). */
  event(event: EngineEvent): void;
  /** The run store's sweep changed (page state the worker never sees): it replaces the saved one. */
  sweep(sweep: SavedSweep): void;
  /** Resolves when every write so far has finished. */
  flushed(): Promise<void>;
  /**
   * Puts saved state back into a fresh worker (restoreCommands(saved), sent through `send`). The configuration this
   * sends comes back as a pipeline-config event, which does not wipe the saved run this time: the restored
   * checkpoints, metrics and samples stay saved.
   */
  resume(saved: SavedLab): void;
}

/**
 * Saves what passes between the page and the worker into `storage`. `send` reaches the worker (to ask for checkpoint
 * bytes); `onError` hears failed writes (quota, a closed database) — the writes after it still go on.
 */
export function createPersistenceRecorder(storage: LabStorage, send: (command: Command) => void, onError: (e: unknown) => void = console.error): PersistenceRecorder {
  let chain: Promise<void> = Promise.resolve();
  const write = (f: () => Promise<void>) => {
    chain = chain.then(f).catch(onError);
  };
  // Items the worker sent to label, until their label passes by (K completions in the worker's order).
  const items = new Map<string, LabelItem>();
  // The next pipeline-config answers resume()'s configure: the saved run belongs to it.
  let resuming = false;
  // The page's configure commands waiting for the worker's answer (it answers them in order).
  const configures: SavedConfig[] = [];
  return {
    command(command) {
      switch (command.type) {
        case 'configure': {
          // Saved once the worker accepts it (its pipeline-config): a refused one (a bad import) must not replace
          // the configuration of the saved run.
          const { type: _type, ...request } = command;
          configures.push(request);
          break;
        }
        case 'labels': {
          const rankings: Ranking[] = [];
          for (const { id, order } of command.labels) {
            const item = items.get(id);
            if (!item) continue;
            items.delete(id);
            rankings.push({ prompt: item.prompt, completions: order.map((i) => item.completions[i]), source: 'human' });
          }
          write(() => storage.addLabels(rankings));
          break;
        }
        case 'clear-labels':
          write(() => storage.clearLabels());
          break;
      }
    },
    event(event) {
      switch (event.type) {
        case 'pipeline-config': {
          items.clear();
          if (resuming) resuming = false;
          else {
            const request = configures.shift();
            write(() => storage.clearRun(event.kept));
            if (request) write(() => storage.saveConfig(request));
          }
          break;
        }
        case 'error':
          if (event.kind === 'config' || (event.kind === 'pipeline' && event.message.startsWith('configure:'))) {
            if (resuming) resuming = false; // resume()'s configure was refused
            else configures.shift(); // the page's was
          }
          break;
        case 'stage':
          if (event.state === 'started') write(() => storage.clearStage(event.stage));
          break;
        case 'metrics':
          write(() => storage.appendMetrics(event.records));
          break;
        case 'samples':
          write(() => storage.appendSamples(event.samples));
          break;
        case 'checkpoint':
          send({ type: 'checkpoint-data', name: event.name });
          break;
        case 'checkpoint-data':
          write(() => storage.saveCheckpoint(event.name, event.bytes));
          break;
        case 'label-items':
          for (const item of event.items) items.set(item.id, item);
          break;
      }
    },
    sweep: (sweep) => write(() => storage.saveSweep(sweep)),
    flushed: () => chain,
    resume(saved) {
      const commands = restoreCommands(saved);
      resuming = commands[0]?.type === 'configure';
      for (const c of commands) send(c);
    },
  };
}

/** The commands that put saved state back into a fresh worker: configure, then restore checkpoints and labels. */
export function restoreCommands(saved: SavedLab): Command[] {
  const commands: Command[] = [];
  if (saved.config) {
    const { lesson: _lesson, ...request } = saved.config;
    commands.push({ type: 'configure', ...request });
  }
  if (saved.checkpoints.length > 0 || saved.labels.length > 0) commands.push({ type: 'restore', checkpoints: saved.checkpoints, rankings: saved.labels });
  return commands;
}

/** Events that refill the page's run store with the saved metrics and samples (feed them to its event handler). */
export function savedEvents(saved: SavedLab): EngineEvent[] {
  const events: EngineEvent[] = [];
  if (saved.metrics.length > 0) events.push({ type: 'metrics', records: saved.metrics });
  if (saved.samples.length > 0) events.push({ type: 'samples', samples: saved.samples });
  return events;
}
