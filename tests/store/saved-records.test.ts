// The saved-record validators (src/store/saved-records.ts), in Node: whatever a store holds, reading it gives a valid
// record or a counted skip and never throws (fast-check, seeded: random JSON values, and records with a field or the
// format version swapped for random JSON); every record the page writes reads back equal; format 2 records are
// migrated (metric names per policy), a record of a newer format is skipped as such; the notice counts what was skipped.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { MetricRecord } from '../../src/rlhf/metrics';
import { CHECKPOINT_NAMES, STAGE_IDS } from '../../src/rlhf/stages';
import type { SavedConfig, SavedSweep } from '../../src/store/persist';
import {
  readRecord,
  readSavedLab,
  RECORD_SCHEMA_VERSION,
  SCHEMA_KEY,
  type SavedRecords,
  type SavedStoreName,
  skippedNotice,
  stamp,
} from '../../src/store/saved-records';
import type { CheckpointBytes, Ranking, SampleRecord } from '../../src/worker/protocol';

const STORES: SavedStoreName[] = ['config', 'metrics', 'samples', 'labels', 'checkpoints', 'sweep'];

// ---- arbitraries of what the page writes -------------------------------------------------------------------------

const num = fc.oneof(fc.double(), fc.integer());
const stage = fc.constantFrom(...STAGE_IDS);
const config: fc.Arbitrary<SavedConfig> = fc.record(
  {
    task: fc.string(),
    preset: fc.string(),
    overrides: fc.dictionary(fc.string(), fc.oneof(fc.string(), num, fc.boolean())),
    custom: fc.record({ sft: fc.string(), preferences: fc.string(), prompts: fc.string() }, { requiredKeys: [] }),
    lesson: fc.string(),
  },
  { requiredKeys: ['task', 'preset', 'overrides'] },
);
const metric: fc.Arbitrary<MetricRecord> = fc
  .tuple(stage, fc.integer({ min: 0 }), fc.dictionary(fc.constantFrom('loss', 'lr', 'objective/kl', 'rm/accuracy', 'eval/win_rate_ppo'), num))
  .map(([s, step, values]) => ({ ...values, stage: s, step }) as MetricRecord);
const sample: fc.Arbitrary<SampleRecord> = fc.record({ prompt: fc.string(), response: fc.string(), policy: fc.string(), proxy: num, gold: fc.option(num, { nil: null }) });
const ranking: fc.Arbitrary<Ranking> = fc.record(
  {
    prompt: fc.string(),
    completions: fc.array(fc.string(), { minLength: 2, maxLength: 9 }),
    source: fc.constantFrom('simulated' as const, 'human' as const, 'imported' as const),
    goldOrder: fc.array(fc.nat(8)),
  },
  { requiredKeys: ['prompt', 'completions', 'source'] },
);
const checkpoint: fc.Arbitrary<CheckpointBytes> = fc.record({ name: fc.constantFrom(...CHECKPOINT_NAMES), bytes: fc.uint8Array({ maxLength: 64 }) });
const column = fc
  .tuple(fc.string(), stage, fc.array(fc.tuple(num, num), { maxLength: 8 }))
  .map(([name, s, points]) => ({ name, stage: s, x: Float64Array.from(points, (p) => p[0]), y: Float64Array.from(points, (p) => p[1]) }));
const point = fc.record({ step: num, sqrtKl: num, proxy: num, gold: num });
const sweep: fc.Arbitrary<SavedSweep> = fc.record({
  runLabel: fc.option(fc.string(), { nil: undefined }),
  runs: fc.array(fc.record({ label: fc.string(), series: fc.array(column, { maxLength: 3 }), frontier: fc.dictionary(fc.constantFrom('ppo', 'dpo', 'bon'), fc.array(point, { maxLength: 3 })) }), { maxLength: 3 }),
});
const VALID: { [S in SavedStoreName]: fc.Arbitrary<SavedRecords[S]> } = { config, metrics: metric, samples: sample, labels: ranking, checkpoints: checkpoint, sweep };

/** A valid record with one field (or the format version) replaced by a random JSON value: damaged or, by chance, valid. */
const tampered = (store: SavedStoreName) =>
  fc.tuple(VALID[store], fc.jsonValue(), fc.nat()).map(([record, junk, i]) => {
    const stamped: Record<string, unknown> = stamp(record as object);
    const keys = Object.keys(stamped);
    return { ...stamped, [keys[i % keys.length]]: junk };
  });

/** What a store may hold: anything JSON, a stamped JSON object, or a tampered record. */
const stored = (store: SavedStoreName) =>
  fc.oneof(
    fc.jsonValue(),
    fc.dictionary(fc.string(), fc.jsonValue()).map((o) => ({ ...o, [SCHEMA_KEY]: RECORD_SCHEMA_VERSION })),
    tampered(store),
  );

describe('saved-record validators', () => {
  test('any stored value reads as a valid record or a counted skip, never a throw', () => {
    for (const store of STORES) {
      fc.assert(
        fc.property(stored(store), (value) => {
          const read = readRecord(store, value);
          if (read.ok) {
            // A valid record reads back unchanged once saved again.
            expect(readRecord(store, stamp(read.record as object))).toEqual(read);
          } else expect(['damaged', 'newer']).toContain(read.reason);
        }),
        { seed: 1, numRuns: 300 },
      );
    }
  });

  test('a whole saved lab: every stored value is either restored or counted as skipped', () => {
    const list = (store: SavedStoreName) => fc.array(fc.oneof(VALID[store].map((r) => stamp(r as object)), stored(store)), { maxLength: 12 });
    fc.assert(
      fc.property(
        fc.record({ config: fc.option(stored('config'), { nil: undefined }), metrics: list('metrics'), samples: list('samples'), labels: list('labels'), checkpoints: list('checkpoints'), sweep: fc.option(stored('sweep'), { nil: undefined }) }),
        (raw) => {
          const saved = readSavedLab(raw);
          const skippedOf = (store: SavedStoreName) => (saved.skipped?.damaged[store] ?? 0) + (saved.skipped?.newer[store] ?? 0);
          for (const store of ['metrics', 'samples', 'labels', 'checkpoints'] as const) expect(saved[store].length + skippedOf(store)).toBe(raw[store].length);
          expect(Number(saved.config !== undefined) + skippedOf('config')).toBe(Number(raw.config !== undefined));
          expect(Number(saved.sweep !== undefined) + skippedOf('sweep')).toBe(Number(raw.sweep !== undefined));
          if (saved.skipped) expect(skippedNotice(saved.skipped)).toMatch(/ (was|were) (damaged|saved by a newer version of RLHF Lab) and skipped\.$/);
        },
      ),
      { seed: 1, numRuns: 200 },
    );
  });

  test('every record the page writes reads back equal (typed arrays, NaN, null gold)', () => {
    for (const store of STORES) {
      fc.assert(
        fc.property(VALID[store], (record) => {
          expect(readRecord(store, stamp(record as object))).toEqual({ ok: true, record });
        }),
        { seed: 1, numRuns: 200 },
      );
    }
    const nan = { stage: 'ppo', step: 0, 'objective/kl': NaN } as MetricRecord;
    expect(readRecord('metrics', stamp(nan))).toEqual({ ok: true, record: nan });
  });

  test('the damage seen in the field is skipped: a null record, a wrong type, a sweep with more steps than values', () => {
    expect(readRecord('metrics', null)).toEqual({ ok: false, reason: 'damaged' });
    expect(readRecord('metrics', stamp({ stage: 'sft', step: 0, loss: '2.5' }))).toEqual({ ok: false, reason: 'damaged' });
    expect(readRecord('metrics', stamp({ stage: 'warmup', step: 0, loss: 2.5 }))).toEqual({ ok: false, reason: 'damaged' });
    expect(readRecord('metrics', { stage: 'sft', step: 0, loss: 2.5 })).toEqual({ ok: false, reason: 'damaged' }); // no format
    for (const version of [0, -1, 1.5]) expect(readRecord('metrics', { stage: 'sft', step: 0, loss: 2.5, [SCHEMA_KEY]: version }), `format ${version}`).toEqual({ ok: false, reason: 'damaged' });
    const column = { name: 'loss', stage: 'sft', x: new Float64Array([0, 1]), y: new Float64Array([2]) };
    expect(readRecord('sweep', stamp({ runLabel: 'β = 0', runs: [{ label: 'β = 0.2', series: [column], frontier: {} }] }))).toEqual({ ok: false, reason: 'damaged' });
    expect(readRecord('sweep', stamp({ runLabel: 'β = 0', runs: 'not a list' }))).toEqual({ ok: false, reason: 'damaged' });
    expect(readRecord('checkpoints', stamp({ name: 'sft', bytes: [1, 2, 3] }))).toEqual({ ok: false, reason: 'damaged' });
    expect(readRecord('labels', stamp({ prompt: 'P', completions: ['only one'], source: 'human' }))).toEqual({ ok: false, reason: 'damaged' });
  });

  test('format 2 is migrated (the win rate named per policy); format 3 reads as it is; a newer format is skipped', () => {
    const v2 = { stage: 'eval', step: 0, 'eval/win_rate': 0.7, 'eval/win_rate_lo': 0.6, 'eval/win_rate_hi': 0.8, 'eval/gold_ppo': 0.3, [SCHEMA_KEY]: 2 };
    expect(readRecord('metrics', v2)).toEqual({ ok: true, record: { stage: 'eval', step: 0, 'eval/win_rate_ppo': 0.7, 'eval/win_rate_lo_ppo': 0.6, 'eval/win_rate_hi_ppo': 0.8, 'eval/gold_ppo': 0.3 } });
    const column = (name: string) => ({ name, stage: 'eval', x: new Float64Array([0]), y: new Float64Array([0.5]) });
    const sweepV2 = { runLabel: undefined, runs: [{ label: 'β = 0', series: [column('eval/win_rate'), column('loss')], frontier: {} }], [SCHEMA_KEY]: 2 };
    const read = readRecord('sweep', sweepV2);
    expect(read.ok && read.record.runs[0].series.map((c) => c.name)).toEqual(['eval/win_rate_ppo', 'loss']);
    // Format 3 had these names already: nothing is renamed.
    expect(readRecord('metrics', { stage: 'eval', step: 0, 'eval/win_rate': 0.7, [SCHEMA_KEY]: 3 })).toEqual({ ok: true, record: { stage: 'eval', step: 0, 'eval/win_rate': 0.7 } });
    expect(readRecord('metrics', { stage: 'sft', step: 0, loss: 1, [SCHEMA_KEY]: RECORD_SCHEMA_VERSION + 1 })).toEqual({ ok: false, reason: 'newer' });
  });

  test('the notice names what was skipped, and why', () => {
    expect(skippedNotice(undefined)).toBeUndefined();
    expect(skippedNotice({ damaged: { metrics: 3 }, newer: {} })).toBe('3 metric records were damaged and skipped.');
    expect(skippedNotice({ damaged: { metrics: 1, samples: 2, sweep: 1 }, newer: { labels: 1 } })).toBe(
      '1 metric record, 2 samples and 1 sweep were damaged and skipped. 1 label was saved by a newer version of RLHF Lab and skipped.',
    );
  });
});
