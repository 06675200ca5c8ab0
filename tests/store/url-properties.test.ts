// Property tests of the page's URL parameters (src/store/config-form.ts parseSearch, `?task=…&preset=…&methods=…`
// with settings like `&ppo.klCoef=…` and `&lesson=…`, and lessons.ts lessonFromSearch): any query string gives a
// valid form — a known task and preset, known methods once each in run order, only setting paths — whose problems
// checkForm reports field by field (a form without a configuration has at least one), and never throws; the form's
// own URL (formSearch) reads back to the same URL and the same overrides. Seeded.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { STAGE_SETTING_DOCS } from '../../src/rlhf/config';
import { inRunOrder } from '../../src/rlhf/stages';
import { checkForm, FORM_PRESETS, FORM_TASKS, formSearch, isSettingPath, METHOD_CHOICES, parseSearch } from '../../src/store/config-form';
import { findLesson, lessonFromSearch } from '../../src/ui/lessons';

const KEYS = ['task', 'preset', 'lesson', 'methods', 'seed', ...Object.keys(STAGE_SETTING_DOCS), '__proto__', 'constructor', 'toString'];
const VALUES = ['on', 'off', 'true', 'false', '', '1e309', 'NaN', '-0', '0x10', '1', '0', '-1', '0.5', 'nano', 'tiny', 'small', 'custom', 'sentiment', 'instructions', 'dpo', 'dpo,dpo', 'ppo,dpo,x', 'ipo', 'kl-sweep'];
const value = fc.oneof(fc.constantFrom(...VALUES), fc.string(), fc.double().map(String), fc.integer().map(String));
/** Queries of known and unknown parameters with plausible and arbitrary values, and arbitrary strings. */
const search = fc.oneof(
  fc.array(fc.tuple(fc.oneof(fc.constantFrom(...KEYS), fc.string()), value), { maxLength: 12 }).map((pairs) => `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`),
  fc.string(),
  fc.string({ unit: 'binary' }),
);

describe('URL parameters', () => {
  test('any query string gives a valid form, its problems reported by field, never a throw', () => {
    fc.assert(
      fc.property(search, (q) => {
        const form = parseSearch(q);
        expect(FORM_TASKS).toContain(form.task);
        expect(FORM_PRESETS).toContain(form.preset);
        expect(form.methods).toEqual(inRunOrder(form.methods));
        expect(new Set(form.methods).size).toBe(form.methods.length);
        for (const m of form.methods) expect(METHOD_CHOICES.map((c) => c.id)).toContain(m);
        for (const path of Object.keys(form.values)) expect(isSettingPath(path)).toBe(true);
        const check = checkForm(form);
        expect(check.config === undefined).toBe(Object.keys(check.problems).length > 0);
        for (const field of Object.keys(check.problems)) expect(isSettingPath(field)).toBe(true);
        expect(lessonFromSearch(q)).toBe(form.lesson === undefined ? undefined : findLesson(form.lesson));
      }),
      { seed: 1, numRuns: 3000 },
    );
  });

  test("the form's URL reads back to the same URL and overrides", () => {
    fc.assert(
      fc.property(search, (q) => {
        const form = parseSearch(q);
        const url = formSearch(form);
        const again = parseSearch(url);
        expect(formSearch(again)).toBe(url);
        expect(checkForm(again).overrides).toEqual(checkForm(form).overrides);
      }),
      { seed: 1, numRuns: 3000 },
    );
  });
});
