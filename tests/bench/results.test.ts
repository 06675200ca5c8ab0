import { describe, expect, test } from 'vitest';
import {
  type BenchRow,
  DEFAULT_SHAPES,
  errorRow,
  formatTable,
  gflops,
  median,
  parseShapes,
  summarize,
  timedRow,
  toJson,
} from '../../src/bench/results';

const ADAPTER = 'google swiftshader';
const row = (impl: BenchRow['impl'], shape: BenchRow['shape'], ms: number, extra: Partial<BenchRow> = {}): BenchRow =>
  ({ ...timedRow({ op: 'matmul', impl, shape, adapter: ADAPTER }, [ms]), ...extra });

describe('bench results', () => {
  test('median and GFLOP/s', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow();
    // 1024³ is 2·2³⁰ FLOPs; in 1 s that is 2.147 GFLOP/s.
    expect(gflops([1024, 1024, 1024], 1000)).toBeCloseTo(2.147483648, 9);
    const r = timedRow({ op: 'matmul', impl: 'lab', shape: [256, 256, 256], adapter: ADAPTER }, [30, 10, 20]);
    expect(r).toMatchObject({ ms: 20, runsMs: [30, 10, 20] });
    expect(r.gflops).toBeCloseTo((2 * 256 ** 3) / 20e6, 12);
  });

  test('parses shape lists', () => {
    expect(parseShapes('256,gpt')).toEqual([[256, 256, 256], [2048, 128, 512], [2048, 512, 128], [2048, 128, 384]]);
    expect(parseShapes('cubes,gpt')).toEqual(DEFAULT_SHAPES);
    expect(parseShapes('64x32x16, 64x32x16')).toEqual([[64, 32, 16]]);
    expect(() => parseShapes('12y4')).toThrow(/Bad shape "12y4"/);
    expect(() => parseShapes('0')).toThrow(/must be ≥ 1/);
  });

  test('error rows have null timings and a one-line message, and survive JSON', () => {
    const r = errorRow({ op: 'matmul', impl: 'ort-webgpu', shape: [512, 512, 512], adapter: ADAPTER }, new Error('boom\nstack'));
    expect(r).toEqual({ op: 'matmul', impl: 'ort-webgpu', shape: [512, 512, 512], adapter: ADAPTER, ms: null, gflops: null, error: 'boom' });
    expect(JSON.parse(JSON.stringify([r]))).toEqual([r]);
    expect(formatTable([r])).toMatch(/ort-webgpu .*512³ +— +— .*ERROR: boom/);
  });

  test('JSON output: an array, one row per line, the documented keys first', () => {
    const rows = [
      { ...timedRow({ op: 'fma-ceiling', impl: 'ceiling', shape: [8, 4, 4], adapter: ADAPTER }, [2, 1]) },
      errorRow({ op: 'matmul', impl: 'lab', shape: [1, 2, 3], adapter: ADAPTER, variant: 'tiled' }, 'no'),
    ];
    const text = toJson(rows);
    expect(JSON.parse(text)).toEqual(rows);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    const g = JSON.stringify((2 * 8 * 4 * 4) / 1.5e6);
    expect(lines[1]).toBe(`  {"op":"fma-ceiling","impl":"ceiling","shape":[8,4,4],"ms":1.5,"gflops":${g},"adapter":"google swiftshader","runsMs":[2,1]},`);
    expect(Object.keys(JSON.parse(text)[1])).toEqual(['op', 'impl', 'shape', 'ms', 'gflops', 'adapter', 'variant', 'error']);
  });

  test('row-kernel rows name their kernel and rows × width, with ms to two decimals and no GFLOP/s', () => {
    const base = { op: 'row-kernel' as const, impl: 'lab' as const, shape: [256, 96, 0] as BenchRow['shape'], adapter: ADAPTER };
    const r: BenchRow = { ...base, kernel: 'crossentropy_forward_backward', variant: 'serial', chosen: true, ms: 1.284, gflops: null };
    expect(formatTable([r])).toMatch(/row-kernel +lab +serial \* +crossentropy_forward_backward 256×96 +1\.28 +—/);
  });

  test('the table has a header, aligned columns and one line per row', () => {
    const rows = [
      row('lab', [1024, 1024, 1024], 1000, { variant: 'regblock' }),
      row('tfjs-webgpu', [2048, 128, 512], 250.25),
      { ...timedRow({ op: 'fma-ceiling', impl: 'ceiling', shape: [262144, 128, 4], adapter: ADAPTER }, [100]) },
    ];
    const lines = formatTable(rows).split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^op +impl +variant +shape +ms +GFLOP\/s/);
    expect(lines[2]).toMatch(/^matmul +lab +regblock +1024³ +1000\.0 +2\.15$/);
    expect(lines[3]).toMatch(/2048×128×512 +250\.3 +1\.07$/);
    expect(lines[4]).toMatch(/262144 thr × 128 vec4 +100\.0 +2\.68$/);
    // Numbers are right-aligned: every line's "ms" column ends at the same position.
    const end = lines[0].indexOf('ms') + 2;
    for (const l of lines.slice(2)) expect(l.slice(0, end)).toMatch(/\d$/);
  });

  test('summary: ratios per shape and the two targets', () => {
    const cube: BenchRow['shape'] = [1024, 1024, 1024];
    const gpt: BenchRow['shape'] = [2048, 128, 512];
    const ceiling = timedRow({ op: 'fma-ceiling', impl: 'ceiling', shape: [1024, 1024, 1024], adapter: ADAPTER }, [400]);
    const rows = [
      row('lab', cube, 1000),
      row('tfjs-webgpu', cube, 4000),
      row('ort-webgpu', cube, 3500),
      row('lab', gpt, 100),
      row('tfjs-webgpu', gpt, 200),
      errorRow({ op: 'matmul', impl: 'ort-webgpu', shape: gpt, adapter: ADAPTER }, 'failed'),
      ceiling,
    ];
    const s = summarize(rows);
    expect(s.speedups.map((x) => [x.peer, x.speedup])).toEqual([
      ['ort-webgpu', 3.5],
      ['tfjs-webgpu', 2],
    ]);
    expect(s.ceilingFraction).toBeCloseTo(0.4, 12);
    expect(s.speedupTarget).toBe('not met');
    expect(s.ceilingTarget).toBe('not met');
    expect(s.lines.join('\n')).toMatch(/1024³ +3\.50× \(lab 1000\.0 ms vs ort-webgpu 3500\.0 ms\)/);
    expect(s.lines.join('\n')).toMatch(/at every shape ≥ 256³: NOT MET \(below at 2048×128×512\)/);
    expect(s.lines.join('\n')).toMatch(/lab \/ ceiling at 1024³: 40\.0%/);

    const fast = summarize([row('lab', cube, 100), row('tfjs-webgpu', cube, 400), { ...ceiling, ms: 150, gflops: gflops(cube, 150) }]);
    expect([fast.speedupTarget, fast.ceilingTarget]).toEqual(['met', 'met']);
    const none = summarize([row('lab', [512, 512, 512], 10)]);
    expect([none.speedupTarget, none.ceilingTarget]).toEqual(['not measured', 'not measured']);
  });
});
