// The training benchmark's pure parts (src/bench/train.ts): JSON rows, the table, the three targets, the defaults
// and the seeded batches. The measurements themselves run in `npm run bench -- train`.
import { describe, expect, test } from 'vitest';
import {
  DEFAULT_TRAIN_SHAPES,
  defaultTrainConfig,
  formatTrainTable,
  randomBatch,
  summarizeTrain,
  toTrainJson,
  trainErrorRow,
  type TrainRow,
} from '../../src/bench/train';
import { PRESETS } from '../../src/model/config';

const ADAPTER = 'google swiftshader';
const row = (bench: TrainRow['bench'], impl: TrainRow['impl'], preset: TrainRow['preset'], value: number, extra: Partial<TrainRow> = {}): TrainRow => ({
  bench,
  impl,
  preset,
  value,
  unit: bench === 'train' || bench.startsWith('generate') ? 'tokens/s' : bench.startsWith('gpu-bytes') ? 'bytes' : bench === 'memory-ratio' ? '×' : 'dispatches',
  adapter: ADAPTER,
  ...extra,
});

/** A full set of rows where every target is met: 4× and 3.5× on tiny/small, 6× generation, memory 1.2×. */
function goodRows(): TrainRow[] {
  const rows: TrainRow[] = [];
  for (const [preset, lab, tfjs] of [['nano', 300, 100], ['tiny', 200, 50], ['small', 70, 20]] as const) {
    rows.push(row('train', 'lab', preset, lab, { B: 2, T: 128, runsMs: [1, 2, 3] }), row('train', 'tfjs-webgpu', preset, tfjs, { B: 2, T: 128 }));
    rows.push(row('gpu-bytes-allocated', 'lab', preset, 1.2e6), row('gpu-bytes-peak', 'lab', preset, 1.1e6), row('gpu-bytes-minimum', 'theory', preset, 1e6));
  }
  rows.push(row('generate-kv-cache', 'lab', 'tiny', 60, { B: 4, T: 128 }), row('generate-recompute', 'lab', 'tiny', 10, { B: 4, T: 128 }));
  return rows;
}

describe('training benchmark results', () => {
  test('JSON: an array, one row per line, bench/impl/preset/value/unit/adapter first', () => {
    const rows = [
      { note: 'n', adapter: ADAPTER, unit: 'tokens/s', value: 12.5, preset: 'tiny', impl: 'lab', bench: 'train', B: 2, T: 128 } as TrainRow,
      trainErrorRow({ bench: 'generate-kv-cache', impl: 'lab', preset: 'tiny', unit: 'tokens/s', adapter: 'unknown' }, new Error('generate.ts is missing\nstack')),
    ];
    const text = toTrainJson(rows);
    expect(JSON.parse(text)).toEqual(rows);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toBe('  {"bench":"train","impl":"lab","preset":"tiny","value":12.5,"unit":"tokens/s","adapter":"google swiftshader","note":"n","B":2,"T":128},');
    expect(Object.keys(JSON.parse(text)[1])).toEqual(['bench', 'impl', 'preset', 'value', 'unit', 'adapter', 'error']);
    expect(JSON.parse(text)[1]).toMatchObject({ value: null, error: 'generate.ts is missing' });
  });

  test('table: header, aligned columns, bytes in MiB, errors shown', () => {
    const rows = [
      row('train', 'lab', 'tiny', 1234.567, { B: 2, T: 128, note: 'median step 207.4 ms' }),
      row('gpu-bytes-allocated', 'lab', 'tiny', 3 * 2 ** 20, { B: 2, T: 128 }),
      row('dispatches-per-step', 'lab', 'tiny', 154),
      row('memory-ratio', 'lab', 'tiny', 1.3456),
      trainErrorRow({ bench: 'train', impl: 'tfjs-webgpu', preset: 'small', unit: 'tokens/s', adapter: ADAPTER }, 'out of memory'),
    ];
    const lines = formatTrainTable(rows).split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[0]).toMatch(/^bench +impl +preset +batch +value +unit +note$/);
    expect(lines[2]).toMatch(/^train +lab +tiny +2×128 +1235 +tokens\/s +median step 207\.4 ms$/);
    expect(lines[3]).toMatch(/^gpu-bytes-allocated +lab +tiny +2×128 +3\.00 +MiB$/);
    expect(lines[4]).toMatch(/dispatches-per-step +lab +tiny +154 +dispatches$/);
    expect(lines[5]).toMatch(/memory-ratio +lab +tiny +1\.35 +×$/);
    expect(lines[6]).toMatch(/train +tfjs-webgpu +small +— +tokens\/s +ERROR: out of memory$/);
    // Values are right-aligned: each ends where the "value" header ends.
    const end = lines[0].indexOf('value') + 'value'.length;
    for (const l of lines.slice(2)) expect(l.slice(end - 1, end)).toMatch(/[0-9—]/);
  });

  test('targets met: speed-ups, generation ratio and memory ratio per preset', () => {
    const s = summarizeTrain(goodRows());
    expect(s.trainSpeedup).toEqual({ nano: 3, tiny: 4, small: 3.5 });
    expect(s.generationSpeedup).toBe(6);
    expect(s.memoryRatio.tiny).toBeCloseTo(1.2, 12);
    expect([s.trainTarget, s.generationTarget, s.memoryTarget]).toEqual(['met', 'met', 'met']);
    expect(s.lines.join('\n')).toMatch(/tiny +4\.00× \(lab 200 vs TF\.js 50 tokens\/s\)/);
    expect(s.lines.filter((l) => l.startsWith('target:')).map((l) => l.split(': ').pop())).toEqual(['MET', 'MET', 'MET']);
  });

  test('targets not met name the culprits', () => {
    const rows = goodRows().map((r) => {
      if (r.bench === 'train' && r.impl === 'lab' && r.preset === 'small') return { ...r, value: 50 }; // 2.5×
      if (r.bench === 'generate-kv-cache') return { ...r, value: 40 }; // 4×
      if (r.bench === 'gpu-bytes-allocated' && r.preset === 'nano') return { ...r, value: 1.6e6 }; // 1.6×
      return r;
    });
    const s = summarizeTrain(rows);
    expect([s.trainTarget, s.generationTarget, s.memoryTarget]).toEqual(['not met', 'not met', 'not met']);
    const text = s.lines.join('\n');
    expect(text).toMatch(/tiny and small: NOT MET \(below on small\)/);
    expect(text).toMatch(/≥ 5× recompute at context 128: NOT MET/);
    expect(text).toMatch(/minimum: NOT MET \(over on nano\)/);
  });

  test('missing or failed rows are "not measured", never met', () => {
    // small not run, generation failed, memory rows absent.
    const rows = goodRows().filter((r) => r.preset !== 'small' && !r.bench.startsWith('gpu-bytes'));
    rows.push(trainErrorRow({ bench: 'train', impl: 'tfjs-webgpu', preset: 'nano', unit: 'tokens/s', adapter: ADAPTER }, 'boom'));
    const failedGen = rows.map((r) => (r.bench === 'generate-recompute' ? { ...r, value: null, error: 'boom' } : r));
    const s = summarizeTrain(failedGen);
    expect([s.trainTarget, s.generationTarget, s.memoryTarget]).toEqual(['not measured', 'not measured', 'not measured']);
    // Generation at another context does not count for the context-128 target.
    const ctx64 = summarizeTrain(goodRows().map((r) => (r.bench.startsWith('generate') ? { ...r, T: 64 } : r)));
    expect(ctx64.generationTarget).toBe('not measured');
    // A memory-ratio row flagged as an error (the minimum above the peak) voids that preset's ratio.
    const flagged = goodRows();
    flagged.push({ ...row('memory-ratio', 'lab', 'tiny', 1.2), error: 'formula overcounts' });
    const f = summarizeTrain(flagged);
    expect(f.memoryRatio.tiny).toBeUndefined();
    expect(f.lines.join('\n')).toMatch(/tiny +not measured \(formula overcounts\)/);
  });

  test('defaults: every preset at 256 tokens a step, generation at context 128', () => {
    const cfg = defaultTrainConfig();
    expect(cfg.presets).toEqual(['nano', 'tiny', 'small']);
    expect(cfg.impls).toEqual(['lab', 'tfjs-webgpu']);
    expect(cfg.runs).toBeGreaterThanOrEqual(5);
    for (const p of cfg.presets) {
      const { B, T } = DEFAULT_TRAIN_SHAPES[p];
      expect(B * T).toBe(256);
      expect(T).toBeLessThanOrEqual(PRESETS[p].contextLength);
    }
    const g = cfg.generation!;
    expect(g.promptLen + g.newTokens).toBe(128);
    expect(g.promptLen + g.newTokens).toBeLessThanOrEqual(PRESETS[g.preset].contextLength);
    expect(defaultTrainConfig(true).runs).toBeLessThan(cfg.runs);
  });

  test('seeded batches: in-vocabulary ids, targets are the next tokens, reproducible', () => {
    const config = PRESETS.nano;
    const a = randomBatch(config, 3, 5, 9);
    expect(a).toMatchObject({ B: 3, T: 5 });
    expect(a.tokens).toHaveLength(15);
    expect(Array.from(a.tokens).every((t) => t >= 0 && t < config.vocabSize && Number.isInteger(t))).toBe(true);
    for (let b = 0; b < 3; b++) for (let t = 0; t < 4; t++) expect(a.targets[b * 5 + t]).toBe(a.tokens[b * 5 + t + 1]);
    expect(randomBatch(config, 3, 5, 9)).toEqual(a);
    expect(randomBatch(config, 3, 5, 10).tokens).not.toEqual(a.tokens);
  });
});
