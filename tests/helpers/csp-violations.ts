// The Content-Security-Policy violations a page reports, for the e2e tests: an init script (Playwright's
// addInitScript) listens on the document from before the page's own scripts; cspViolations reads what it saw.
import type { Page } from 'playwright-core';

/** Init script: keeps each securitypolicyviolation as "<directive> <blocked URI>" in window.cspViolations. */
export function recordCspViolations(): void {
  const seen: string[] = [];
  (window as unknown as { cspViolations: string[] }).cspViolations = seen;
  document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.effectiveDirective} ${e.blockedURI}`));
}

/** The violations seen so far; null when the init script did not run. */
export const cspViolations = (page: Page): Promise<string[] | null> => page.evaluate(() => (window as unknown as { cspViolations?: string[] }).cspViolations ?? null);

/** The policy the page's <meta http-equiv="Content-Security-Policy"> sets, if it has one. */
export const pagePolicy = (page: Page): Promise<string | null> =>
  page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? null);
