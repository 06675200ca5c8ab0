// Every stage says how "Continue in TRL" carries it (src/rlhf/stages/types.ts StageTrlLink): the rerun stages' modules
// map exactly the settings their sections have — none missing, none left over from a renamed field — and give a
// trainer, a --smoke entry and a __main__ line at every preset.
import { describe, expect, test } from 'vitest';
import { PRESETS, type PresetName } from '../../src/model/config';
import { makePipelineConfig } from '../../src/rlhf/config';
import { STAGE_REGISTRY } from '../../src/rlhf/stages';
import type { SettingDoc, StageTrl } from '../../src/rlhf/stages/types';

/** The dotted paths a section's documented fields give: an optional group both off (its path) and on (its fields'). */
function settingPaths(section: string, fields: Readonly<Record<string, SettingDoc>>): string[] {
  return Object.entries(fields).flatMap(([key, doc]) => [`${section}.${key}`, ...(doc.kind === 'optional' ? Object.keys(doc.fields).map((k) => `${section}.${key}.${k}`) : [])]);
}

describe('stages in the TRL export', () => {
  for (const stage of STAGE_REGISTRY) {
    test(`${stage.id}: ${'notRerun' in stage.trl ? 'not rerun, with a reason' : 'its module maps every setting of its sections, and only those'}`, async () => {
      const link = stage.trl;
      if ('notRerun' in link) {
        expect(link.notRerun.length).toBeGreaterThan(10);
        return;
      }
      const trl: StageTrl = (await link.load()).trl;
      const paths = (stage.config ?? []).flatMap((c) => settingPaths(c.section, c.fields as Record<string, SettingDoc>));
      expect(paths.length).toBeGreaterThan(0);
      expect(Object.keys(trl.settings).sort()).toEqual([...paths].sort());
      for (const [setting, [argument, note]] of Object.entries(trl.settings)) {
        if (argument === null) expect(note, `${setting} has no TRL argument: the note must say why`).not.toBe('');
        else expect(argument, setting).toMatch(/^[A-Z]\w+\.\w+$/);
      }
      for (const preset of Object.keys(PRESETS) as PresetName[]) {
        const script = trl.script(makePipelineConfig(preset), { contextLength: 64 });
        expect(script.call, preset).not.toBe('');
        expect(script.trainer, preset).toMatch(/Trainer$/);
        expect(script.smoke?.[0], preset).toMatch(/Config$/);
        expect(script.code, preset).toMatch(/^def \w+\(/);
        expect(script.code, preset).not.toMatch(/undefined|NaN/);
      }
    });
  }

  test('SFT with 0 steps trains nothing: the base model stands in as the policy', async () => {
    const link = STAGE_REGISTRY.find((s) => s.id === 'sft')!.trl;
    if ('notRerun' in link) throw new Error('SFT is rerun by TRL');
    const script = (await link.load()).trl.script(makePipelineConfig('tiny', { 'sft.steps': 0 }), { contextLength: 64 });
    expect(script).toEqual({ code: '', call: 'path("models", "base")  # sft.steps 0: the base model is the SFT policy' });
  });
});
