// The saved session's records as they are read back from IndexedDB (src/store/persist.ts). Saved data outlives the
// code that wrote it and can be damaged (a browser bug, an extension, a half-written record, a hand edit in DevTools),
// so nothing read back is trusted: each record is checked against a valibot schema of what the page writes, and one
// that fails is skipped and counted (skippedNotice says so) instead of breaking the restore. Reading never throws.
//
// Every record is saved with the format it was written in (SCHEMA_KEY: RECORD_SCHEMA_VERSION now). A record of an
// older format goes through MIGRATIONS, one step per version, before it is checked, so a damaged record fails alone
// rather than aborting a database upgrade; one of a newer format (a later version of the lab wrote it) is skipped.
import * as v from 'valibot';
import type { MetricRecord } from '../rlhf/metrics';
import { CHECKPOINT_NAMES, STAGE_IDS } from '../rlhf/stages';
import type { CheckpointBytes, Ranking, SampleRecord } from '../worker/protocol';
import type { SavedConfig, SavedLab, SavedSweep } from './persist';

/**
 * The record format written now. 2: the evaluation's win rate had PPO's name only (eval/win_rate); 3: per policy
 * (eval/win_rate_<stage>); 4: records carry their format (SCHEMA_KEY).
 */
export const RECORD_SCHEMA_VERSION = 4;
/** The field of a saved record that holds its format version. */
export const SCHEMA_KEY = 'schemaVersion';

/** The object stores of the lab's database: 'config' and 'sweep' hold one record, the others a list. */
export type SavedStoreName = 'config' | 'metrics' | 'samples' | 'labels' | 'checkpoints' | 'sweep';

/** What a record of each store is once read back. */
export interface SavedRecords {
  config: SavedConfig;
  metrics: MetricRecord;
  samples: SampleRecord;
  labels: Ranking;
  checkpoints: CheckpointBytes;
  sweep: SavedSweep;
}

/** A record as saved: the record and the format it was written in. */
export type Stamped<T> = T & { [SCHEMA_KEY]: number };

export const stamp = <T extends object>(record: T): Stamped<T> => ({ ...record, [SCHEMA_KEY]: RECORD_SCHEMA_VERSION });

// ---- schemas: what the page writes -------------------------------------------------------------------------------

/** Metric values, rewards and frontier points may be NaN (a task with no gold reward); JSON has none, IndexedDB does. */
const anyNumber = v.union([v.number(), v.nan()]);
const stage = v.picklist(STAGE_IDS);

const configSchema = v.object({
  task: v.string(),
  preset: v.string(),
  overrides: v.record(v.string(), v.union([v.string(), anyNumber, v.boolean()])),
  custom: v.optional(v.object({ sft: v.optional(v.string()), preferences: v.optional(v.string()), prompts: v.optional(v.string()) })),
  lesson: v.optional(v.string()),
});

const metricSchema = v.objectWithRest({ stage, step: v.pipe(v.number(), v.finite()) }, anyNumber);

// (Saved samples also carry the stage that made them, for deleting by stage: the object schema drops it.)
const sampleSchema = v.object({ prompt: v.string(), response: v.string(), policy: v.string(), proxy: anyNumber, gold: v.nullable(anyNumber) });

const rankingSchema = v.object({
  prompt: v.string(),
  completions: v.pipe(v.array(v.string()), v.minLength(2)),
  source: v.picklist(['simulated', 'human', 'imported']),
  goldOrder: v.optional(v.array(v.pipe(v.number(), v.integer()))),
});

const checkpointSchema = v.object({ name: v.picklist(CHECKPOINT_NAMES), bytes: v.instance(Uint8Array) });

const columnSchema = v.pipe(
  v.object({ name: v.string(), stage, x: v.instance(Float64Array), y: v.instance(Float64Array) }),
  v.check((c) => c.x.length === c.y.length, 'a series has as many steps as values'),
);
const frontierPointSchema = v.object({ step: anyNumber, sqrtKl: anyNumber, proxy: anyNumber, gold: anyNumber });
const sweepSchema = v.object({
  runLabel: v.optional(v.string()),
  runs: v.array(v.object({ label: v.string(), series: v.array(columnSchema), frontier: v.record(v.string(), v.array(frontierPointSchema)), config: v.optional(v.record(v.string(), v.unknown())) })),
});

const SCHEMAS: { [S in SavedStoreName]: v.GenericSchema<unknown, unknown> } = {
  config: configSchema,
  metrics: metricSchema,
  samples: sampleSchema,
  labels: rankingSchema,
  checkpoints: checkpointSchema,
  sweep: sweepSchema,
};

// ---- migrations: one format to the next ---------------------------------------------------------------------------

/**
 * Metric names of format 2 and what they are now: the evaluation reports a win rate per trained policy
 * (eval/win_rate_<stage>), and format 2 had only PPO's.
 */
export const RENAMED_METRICS: Readonly<Record<string, string>> = {
  'eval/win_rate': 'eval/win_rate_ppo',
  'eval/win_rate_lo': 'eval/win_rate_lo_ppo',
  'eval/win_rate_hi': 'eval/win_rate_hi_ppo',
};

const renamed = (name: string) => (Object.hasOwn(RENAMED_METRICS, name) ? RENAMED_METRICS[name] : name);

type Loose = Record<string, unknown>;
type Migration = (record: Loose) => Loose;

/**
 * MIGRATIONS[n][store] takes a record of format n to format n + 1 (a store with no entry is unchanged by that step).
 * They run before the record is checked, so they may meet any shape: what they cannot read throws, and the record
 * counts as damaged.
 */
const MIGRATIONS: Readonly<Record<number, Partial<Record<SavedStoreName, Migration>>>> = {
  2: {
    metrics: (record) => Object.fromEntries(Object.entries(record).map(([k, value]) => [renamed(k), value])),
    sweep: (sweep) => ({
      ...sweep,
      runs: (sweep.runs as Loose[]).map((run) => ({ ...run, series: (run.series as Loose[]).map((c) => ({ ...c, name: renamed(c.name as string) })) })),
    }),
  },
};

// ---- reading -------------------------------------------------------------------------------------------------------

/** Why a record was not restored: it does not hold what the page writes, or a later version of the lab wrote it. */
export type SkipReason = 'damaged' | 'newer';

export type ReadRecord<T> = { ok: true; record: T } | { ok: false; reason: SkipReason };

const isObject = (x: unknown): x is Loose => typeof x === 'object' && x !== null && !Array.isArray(x);

/** One stored value of `store` as the record it holds (migrated to the current format, checked), or why it is skipped. */
export function readRecord<S extends SavedStoreName>(store: S, stored: unknown): ReadRecord<SavedRecords[S]> {
  try {
    if (!isObject(stored)) return { ok: false, reason: 'damaged' };
    const { [SCHEMA_KEY]: version, ...record } = stored;
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) return { ok: false, reason: 'damaged' };
    if (version > RECORD_SCHEMA_VERSION) return { ok: false, reason: 'newer' };
    let migrated: Loose = record;
    for (let from = version; from < RECORD_SCHEMA_VERSION; from++) migrated = MIGRATIONS[from]?.[store]?.(migrated) ?? migrated;
    const checked = v.safeParse(SCHEMAS[store], migrated);
    return checked.success ? { ok: true, record: checked.output as SavedRecords[S] } : { ok: false, reason: 'damaged' };
  } catch {
    // A migration met a shape it cannot read.
    return { ok: false, reason: 'damaged' };
  }
}

/** How many records of each store were skipped, and why. */
export type SkippedRecords = Record<SkipReason, Partial<Record<SavedStoreName, number>>>;

/** Everything the database holds, as read (nothing checked yet). */
export interface StoredLab {
  config: unknown;
  metrics: unknown[];
  samples: unknown[];
  labels: unknown[];
  checkpoints: unknown[];
  sweep: unknown;
}

/** The saved session in what the database holds: every record read (readRecord); those skipped are counted in `skipped`. */
export function readSavedLab(stored: StoredLab): SavedLab {
  const skipped: SkippedRecords = { damaged: {}, newer: {} };
  const read = <S extends SavedStoreName>(store: S, value: unknown): SavedRecords[S] | undefined => {
    const r = readRecord(store, value);
    if (r.ok) return r.record;
    skipped[r.reason][store] = (skipped[r.reason][store] ?? 0) + 1;
    return undefined;
  };
  const readAll = <S extends SavedStoreName>(store: S, values: unknown[]) => values.flatMap((value) => read(store, value) ?? []);
  const saved: SavedLab = {
    config: stored.config === undefined ? undefined : read('config', stored.config),
    metrics: readAll('metrics', stored.metrics),
    samples: readAll('samples', stored.samples),
    labels: readAll('labels', stored.labels),
    checkpoints: readAll('checkpoints', stored.checkpoints),
  };
  const sweep = stored.sweep === undefined ? undefined : read('sweep', stored.sweep);
  if (sweep) saved.sweep = sweep;
  if (Object.keys(skipped.damaged).length + Object.keys(skipped.newer).length > 0) saved.skipped = skipped;
  return saved;
}

const NOUNS: Record<SavedStoreName, [string, string]> = {
  config: ['configuration', 'configurations'],
  metrics: ['metric record', 'metric records'],
  samples: ['sample', 'samples'],
  labels: ['label', 'labels'],
  checkpoints: ['checkpoint', 'checkpoints'],
  sweep: ['sweep', 'sweeps'],
};

/** What the page says about skipped records, e.g. "3 metric records and 1 label were damaged and skipped." */
export function skippedNotice(skipped: SkippedRecords | undefined): string | undefined {
  if (!skipped) return undefined;
  const sentence = (counts: Partial<Record<SavedStoreName, number>>, why: string) => {
    const parts = Object.entries(counts).map(([store, n]) => `${n} ${NOUNS[store as SavedStoreName][n === 1 ? 0 : 1]}`);
    if (parts.length === 0) return [];
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const list = parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
    return [`${list} ${total === 1 ? 'was' : 'were'} ${why} and skipped.`];
  };
  return [...sentence(skipped.damaged, 'damaged'), ...sentence(skipped.newer, 'saved by a newer version of RLHF Lab')].join(' ');
}
