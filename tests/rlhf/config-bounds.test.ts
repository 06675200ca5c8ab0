// Every count a configuration holds is bounded (pretrain.batchSize = 1e15 is refused naming the field, not sent to
// the GPU), --help shows the bounds, and any string a person can type for any setting (`--set path=value`, the
// page's fields) gives a valid configuration or a PipelineConfigError — never another exception.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parsePipelineArgs, USAGE, UsageError } from '../../src/cli/pipeline';
import { PRESETS, type PresetName } from '../../src/model/config';
import { configProblems, makePipelineConfig, type PipelineConfig, PIPELINE_PRESETS, PipelineConfigError, STAGE_SETTING_DOCS } from '../../src/rlhf/config';

const PRESET_NAMES = Object.keys(PIPELINE_PRESETS) as PresetName[];

/** Every number of a configuration by dotted path, with its value. */
function numbers(node: object, prefix = ''): [string, number][] {
  return Object.entries(node).flatMap(([k, v]): [string, number][] => {
    const path = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'number') return [[path, v]];
    return v !== null && typeof v === 'object' ? numbers(v, path) : [];
  });
}

/** The configuration `build` makes, or the PipelineConfigError it throws; any other exception escapes. */
function outcome(build: () => PipelineConfig): PipelineConfig | PipelineConfigError {
  try {
    return build();
  } catch (e) {
    if (e instanceof PipelineConfigError) return e;
    throw e;
  }
}

describe('bounds of the settings', () => {
  test('every integer setting has a maximum', () => {
    const unbounded = Object.entries(STAGE_SETTING_DOCS).filter(([, doc]) => doc.kind === 'int' && (doc.max === undefined || (typeof doc.max === 'number' && !Number.isFinite(doc.max))));
    expect(unbounded.map(([path]) => path)).toEqual([]);
  });

  test('a batch size of 1e15 is refused naming the field and its range; --help lists the range', () => {
    expect(() => makePipelineConfig('nano', { 'pretrain.batchSize': '1e15' })).toThrow(new PipelineConfigError([{ field: 'pretrain.batchSize', message: 'must be an integer in [1, 1024], got 1000000000000000' }]));
    expect(USAGE).toMatch(/pretrain\.batchSize +integer in \[1, 1024\]: sequences per optimizer step/);
    expect(USAGE).toMatch(/ppo\.episodes +integer in \[1, 10000000\]/);
  });
});

describe('any typed override', () => {
  const paths = Object.keys(STAGE_SETTING_DOCS);
  // Values a person types: numbers in every notation, words, the settings' own words, empty and odd strings.
  const typed = fc.oneof(
    fc.string(),
    fc.double().map(String),
    fc.integer().map(String),
    fc.bigInt().map(String),
    fc.constantFrom('', ' ', 'NaN', 'Infinity', '-Infinity', '1e15', '1e400', '-0', '0x10', '1_000', 'off', 'on', 'true', 'false', 'null', 'k3', 'ipo', '__proto__'),
  );
  // Paths: the settings', their sections and groups, paths one step off (unknown or too deep), and prototype names.
  const path = fc.oneof(
    fc.constantFrom(...paths, 'seed', 'task', 'preset', 'ppo', 'ppo.adaptiveKL', '__proto__', 'constructor', 'ppo.__proto__.x', 'toString', 'ppo..lr', '.'),
    fc.constantFrom(...paths).map((p) => `${p}.x`),
    fc.string(),
  );

  test('gives a configuration whose numbers are within their bounds, or a PipelineConfigError (makePipelineConfig)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PRESET_NAMES), fc.uniqueArray(fc.tuple(path, typed), { maxLength: 3, selector: ([p]) => p }), (preset, overrides) => {
        const result = outcome(() => makePipelineConfig(preset, Object.fromEntries(overrides)));
        if (result instanceof PipelineConfigError) {
          expect(result.problems.length).toBeGreaterThan(0);
          return;
        }
        expect(configProblems(result)).toEqual([]);
        for (const [p, v] of numbers(result)) {
          const doc = STAGE_SETTING_DOCS[p];
          if (doc?.kind !== 'int') continue;
          const max = typeof doc.max === 'object' ? doc.max.of(result[p.split('.')[0] as 'ppo'], PRESETS[preset]) : doc.max;
          expect(v, p).toBeLessThanOrEqual(max);
        }
      }),
      { seed: 1, numRuns: 2000 },
    );
  });

  test('--set PATH=VALUE gives a configuration, a PipelineConfigError, or a usage error (the command line)', () => {
    fc.assert(
      fc.property(fc.tuple(path, typed), fc.constantFrom('nano', 'tiny', 'small'), ([p, v], preset) => {
        let opts;
        try {
          opts = parsePipelineArgs(['--preset', preset, '--set', `${p}=${v}`]);
        } catch (e) {
          if (e instanceof UsageError) return;
          throw e;
        }
        if (opts === 'help') throw new Error('unexpected help');
        outcome(() => makePipelineConfig(opts.preset, opts.overrides));
      }),
      { seed: 1, numRuns: 2000 },
    );
  });
});
