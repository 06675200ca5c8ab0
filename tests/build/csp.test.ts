// The lab page's Content-Security-Policy (src/build/csp.ts): the directives the issue asks for and nothing looser (no
// 'unsafe-inline', no 'unsafe-eval'); the plugin puts it first in the built lab page's <head> and nowhere else; the dev
// server serves the page without it (its React Refresh preamble is an inline script the policy would refuse). That the
// built page runs under it with no violation is the e2e tests' (tests/e2e/csp.test.ts, tests/e2e/page.test.ts).
import type { HtmlTagDescriptor, IndexHtmlTransformContext, Plugin } from 'vite';
import { createServer } from 'vite';
import { describe, expect, test } from 'vitest';
import { CONTENT_SECURITY_POLICY, contentSecurityPolicy } from '../../src/build/csp';

/** The policy as directive → sources. */
const directives = (policy: string) => Object.fromEntries(policy.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...sources]) => [name, sources]));

/** What the plugin adds to the page at `path` in a build. */
function transform(plugin: Plugin, path: string): HtmlTagDescriptor[] | undefined {
  const hook = plugin.transformIndexHtml as (html: string, ctx: IndexHtmlTransformContext) => HtmlTagDescriptor[] | undefined;
  return hook('<html><head></head></html>', { path, filename: `/work${path}` } as IndexHtmlTransformContext);
}

describe('Content-Security-Policy', () => {
  test('the policy: self only, WebAssembly but no eval, workers from self and blobs, no plugins, no <base>, no inline', () => {
    expect(directives(CONTENT_SECURITY_POLICY)).toEqual({
      'default-src': ["'self'"],
      'script-src': ["'self'", "'wasm-unsafe-eval'"],
      'worker-src': ["'self'", 'blob:'],
      'connect-src': ["'self'"],
      'style-src': ["'self'"],
      'object-src': ["'none'"],
      'base-uri': ["'none'"],
    });
  });

  test('a build puts it first in the lab page’s <head>, and only there', () => {
    const plugin = contentSecurityPolicy();
    expect(plugin.apply).toBe('build');
    expect(transform(plugin, '/index.html')).toEqual([{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY }, injectTo: 'head-prepend' }]);
    expect(transform(plugin, '/src/bench/charts.html')).toBeUndefined();
  });

  test('the dev server serves the page without it: React Refresh’s preamble is an inline script', { timeout: 60_000 }, async () => {
    const server = await createServer({ configFile: 'vite.config.ts', logLevel: 'error', server: { port: 0 } }); // not listening: only its HTML transform runs
    try {
      const html = await server.transformIndexHtml('/index.html', '<!doctype html><html><head></head><body><script type="module" src="/src/main.tsx"></script></body></html>');
      expect(html).not.toMatch(/Content-Security-Policy/);
      expect(html).toMatch(/<script type="module">[^<]*\/@react-refresh/);
    } finally {
      await server.close();
    }
  });
});
