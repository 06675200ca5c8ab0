// The built lab page under its Content-Security-Policy (src/build/csp.ts), in headless Chromium: the page starts its
// engine worker, loads the bundled model and samples from it with no violation reported, and the policy is really
// enforced — an inline script, a style="" attribute set from markup and eval are refused and reported (so the zero
// counts here and in page.test.ts's pipeline run are counts of a listener that works).
import { expect, test } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../src/build/csp';
import { useBuiltPage } from '../helpers/built-page';
import { cspViolations, pagePolicy, recordCspViolations } from '../helpers/csp-violations';


const lab = useBuiltPage();

test('the built page works under its policy, and the policy refuses inline script, inline style and eval', { timeout: 180_000 }, async () => {
  const page = await lab.browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.addInitScript(recordCspViolations);
  await page.goto(lab.url);
  expect(await pagePolicy(page)).toBe(CONTENT_SECURITY_POLICY);
  expect(await page.evaluate(() => document.head.firstElementChild?.getAttribute('http-equiv'))).toBe('Content-Security-Policy');

  // The engine worker starts, fetches the bundled model, and samples (charts, styles and the React tree render).
  await page.getByLabel('Temperature').fill('0');
  const generate = page.getByRole('button', { name: 'Generate' });
  await expect.poll(() => generate.isEnabled(), { timeout: 60_000 }).toBe(true);
  await generate.click();
  await expect.poll(() => page.getByTestId('sample-text').textContent(), { timeout: 120_000 }).toMatch(/^Once upon a time/);
  expect(await cspViolations(page)).toEqual([]);

  // What the policy is for.
  const refused = await page.evaluate(async () => {
    const w = window as unknown as { inlineRan?: boolean; evalRan?: boolean };
    const script = document.createElement('script');
    script.textContent = 'window.inlineRan = true';
    document.body.append(script);
    const styled = document.createElement('div');
    styled.innerHTML = '<p style="color: red">styled</p>';
    document.body.append(styled);
    // A string timer compiles its code later, in a task of the page's own (Playwright's evaluation itself may eval).
    (setTimeout as (code: string) => number)('window.evalRan = true');
    await new Promise((resolve) => setTimeout(resolve, 100)); // the timer's turn, and violation events are tasks too
    return { inlineRan: w.inlineRan ?? false, colour: getComputedStyle(styled.firstElementChild!).color, evalRan: w.evalRan ?? false };
  });
  expect(refused).toEqual({ inlineRan: false, colour: expect.not.stringMatching(/^rgb\(255, 0, 0\)$/), evalRan: false });
  expect(await cspViolations(page)).toEqual(['script-src-elem inline', 'style-src-attr inline', 'script-src eval']);
  expect(errors).toEqual([]);
  await page.close();
});
