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
//
// Read back, every record is checked and migrated (src/store/saved-records.ts): a damaged one is skipped and counted
// in `skipped`, never thrown. Records are written stamped with their format (RECORD_SCHEMA_VERSION). One tab at a time
// has the saved session open (src/store/tab-lock.ts); the connection still tells the page when another version
// needs it (`closed`: 'versionchange', after which it is closed), when the browser closed it ('terminated'), and
// when older tabs hold up its upgrade (`blocked`). When the storage is full, the recorder stops saving (the last
// saved state stays whole) until the next configuration starts a saved run afresh.
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
import { readSavedLab, SCHEMA_KEY, type SkippedRecords, type Stamped, stamp } from './saved-records';

export { RENAMED_METRICS } from './saved-records';

export const DB_NAME = 'rlhf-lab';
/**
 * 1: config, metrics, samples, labels, checkpoints; 2: + sweep; 3: the evaluation's metrics named per policy; 4: every
 * record stamped with its format (saved-records.ts), which the upgrade sets to what the old version wrote (2 or 3)
 * and reading migrates. (Code of version 3 must not open it: it would show the stamp as a metric.)
 */
export const DB_VERSION = 4;

/** The configuration as the page sent it (so `configure` can be sent again), and the lesson it came from, if any. */
export type SavedConfig = ConfigureRequest & { lesson?: string };

/** A sweep's finished run as saved: src/store/run.ts KeptRun with its series as plain columns. */
export interface SavedKeptRun {
  label: string;
  series: SeriesColumn[];
  frontier: KeptRun['frontier'];
  /** Absent in sweeps saved before kept runs kept their configuration. */
  config?: object;
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
  /** Records read back but not restored (damaged, or of a newer format), by store; absent when there are none. */
  skipped?: SkippedRecords;
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
  config: { key: string; value: Stamped<SavedConfig> };
  metrics: { key: number; value: Stamped<MetricRecord>; indexes: { stage: string } };
  samples: { key: number; value: Stamped<SampleRecord & { stage: PipelineStage }>; indexes: { stage: string } };
  labels: { key: number; value: Stamped<Ranking> };
  checkpoints: { key: string; value: Stamped<CheckpointBytes> };
  sweep: { key: string; value: Stamped<SavedSweep> };
}

const STORES = ['config', 'metrics', 'samples', 'labels', 'checkpoints', 'sweep'] as const;
/** The key of the one record in 'config' and in 'sweep'. */
const CURRENT_KEY = 'current';

const isEmptySweep = (sweep: SavedSweep) => sweep.runLabel === undefined && sweep.runs.length === 0;

/** What the open connection tells the page beyond its own calls. */
export interface StorageEvents {
  /** Tabs with an older version of the database open hold up its upgrade (opening waits until they close). */
  blocked?(): void;
  /** The connection is gone: another tab needs a newer version ('versionchange': closed here to let it), or the
   * browser closed it ('terminated': site data cleared, a disk error). Writes after it fail. */
  closed?(why: 'versionchange' | 'terminated'): void;
}

/**
 * Waits for a transaction's requests and its commit. A transaction that aborts rejects with its own error (a
 * QuotaExceededError), not with the AbortError its requests get.
 */
async function committed(tx: { done: Promise<void>; error: DOMException | null }, requests: Promise<unknown>[]): Promise<void> {
  try {
    await Promise.all([...requests, tx.done]);
  } catch (e) {
    throw tx.error ?? e;
  }
}

/** Opens (creating on first use, upgrading an older version's and keeping its data) the lab's database. */
export async function openLabStorage(name = DB_NAME, events: StorageEvents = {}): Promise<LabStorage> {
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
      if (oldVersion >= 1 && oldVersion < 4) {
        // The records get the format their version wrote (3's metric names, or 2's before); reading migrates them.
        const format = oldVersion < 3 ? 2 : 3;
        for (const store of STORES) {
          for (let c = await tx.objectStore(store).openCursor(); c; c = await c.continue()) {
            const value: unknown = c.value;
            // Anything else is damaged: left as it is, it is skipped when read.
            if (typeof value === 'object' && value !== null && !Array.isArray(value)) await c.update({ ...value, [SCHEMA_KEY]: format } as never);
          }
        }
      }
    },
    blocked: () => events.blocked?.(),
    blocking: () => {
      db.close();
      events.closed?.('versionchange');
    },
    terminated: () => events.closed?.('terminated'),
  });
  const deleteWhere = async (store: 'metrics' | 'samples', stage: PipelineStage) => {
    const tx = db.transaction(store, 'readwrite');
    const deleted = async () => {
      for (let cursor = await tx.store.index('stage').openCursor(stage); cursor; cursor = await cursor.continue()) await cursor.delete();
    };
    await committed(tx, [deleted()]);
  };
  const addAll = async <S extends 'metrics' | 'samples' | 'labels'>(store: S, values: readonly LabDB[S]['value'][]) => {
    if (values.length === 0) return;
    const tx = db.transaction(store, 'readwrite');
    await committed(tx, values.map((v) => tx.store.add(v)));
  };
  const put = async <S extends 'config' | 'checkpoints' | 'sweep'>(store: S, value: LabDB[S]['value'], key?: string) => {
    const tx = db.transaction(store, 'readwrite');
    await committed(tx, [tx.store.put(value, key)]);
  };
  const clearStores = async (stores: readonly (typeof STORES)[number][]) => {
    const tx = db.transaction(stores, 'readwrite');
    await committed(tx, stores.map((s) => tx.objectStore(s).clear()));
  };
  return {
    saveConfig: (config) => put('config', stamp(structuredClone(config)), CURRENT_KEY),
    appendMetrics: (records) => addAll('metrics', records.map(stamp)),
    appendSamples: (samples) => addAll('samples', samples.map((s) => stamp({ ...s, stage: sampleStage(s) }))),
    addLabels: (rankings) => addAll('labels', rankings.map(stamp)),
    clearLabels: () => clearStores(['labels']),
    saveCheckpoint: (name, bytes) => put('checkpoints', stamp({ name, bytes: new Uint8Array(bytes) })),
    clearStage: async (stage) => {
      await deleteWhere('metrics', stage);
      await deleteWhere('samples', stage);
    },
    clearRun: async (keptCheckpoints = []) => {
      const tx = db.transaction(['metrics', 'samples', 'checkpoints'], 'readwrite');
      const checkpoints = tx.objectStore('checkpoints');
      const dropped = (await checkpoints.getAllKeys()).filter((n) => !keptCheckpoints.includes(n as PipelineCheckpointName));
      await committed(tx, [tx.objectStore('metrics').clear(), tx.objectStore('samples').clear(), ...dropped.map((n) => checkpoints.delete(n))]);
    },
    saveSweep: async (sweep) => {
      if (!isEmptySweep(sweep)) return put('sweep', stamp(sweep), CURRENT_KEY);
      const tx = db.transaction('sweep', 'readwrite');
      await committed(tx, [tx.store.delete(CURRENT_KEY)]);
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
      const saved = readSavedLab({ config, metrics, samples, labels, checkpoints, sweep });
      sortCheckpoints(saved.checkpoints);
      return saved;
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
  /** Resolves once the bytes of every checkpoint asked for so far have come (or were refused) and every write so far
   * has finished: nothing the worker sent is left to save. */
  settled(): Promise<void>;
  /**
   * Puts saved state back into a fresh worker (restoreCommands(saved), sent through `send`). The configuration this
   * sends comes back as a pipeline-config event, which does not wipe the saved run this time: the restored
   * checkpoints, metrics and samples stay saved.
   */
  resume(saved: SavedLab): void;
}

/** The error of a write the browser refused for lack of space (IndexedDB's transaction abort, or a DOMException). */
export const isQuotaExceeded = (e: unknown): boolean => (e as { name?: unknown } | null)?.name === 'QuotaExceededError';

/**
 * Saves what passes between the page and the worker into `storage`. `send` reaches the worker (to ask for checkpoint
 * bytes); `onError` hears failed writes (quota, a closed database). After most failures the writes go on; after the
 * storage ran out of space none is made (a deletion would succeed and break the saved session up) until the page's
 * next configuration, which starts the saved run afresh.
 */
export function createPersistenceRecorder(storage: LabStorage, send: (command: Command) => void, onError: (e: unknown) => void = console.error): PersistenceRecorder {
  let chain: Promise<void> = Promise.resolve();
  let full = false;
  const write = (f: () => Promise<void>) => {
    chain = chain
      .then(() => (full ? undefined : f()))
      .catch((e: unknown) => {
        if (isQuotaExceeded(e)) full = true;
        onError(e);
      });
  };
  // Checkpoints whose bytes were asked for and have not come, and who waits for them (settled()).
  let bytesDue = 0;
  let onBytesCame: (() => void)[] = [];
  const bytesCame = () => {
    bytesDue = Math.max(0, bytesDue - 1);
    if (bytesDue === 0) for (const resolve of onBytesCame.splice(0)) resolve();
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
            chain = chain.then(() => void (full = false));
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
          if (event.kind === 'pipeline' && event.message.startsWith('checkpoint-data:')) bytesCame();
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
          bytesDue++;
          send({ type: 'checkpoint-data', name: event.name });
          break;
        case 'checkpoint-data':
          write(() => storage.saveCheckpoint(event.name, event.bytes));
          bytesCame();
          break;
        case 'label-items':
          for (const item of event.items) items.set(item.id, item);
          break;
      }
    },
    sweep: (sweep) => write(() => storage.saveSweep(sweep)),
    flushed: () => chain,
    async settled() {
      if (bytesDue > 0) await new Promise<void>((resolve) => onBytesCame.push(resolve));
      await chain;
    },
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
