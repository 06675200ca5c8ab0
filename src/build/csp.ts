// The lab page's Content-Security-Policy, put into the built index.html as a <meta> (first in <head>, so it governs
// every script and stylesheet after it) by a Vite plugin that runs in `vite build` only.
//   script-src 'wasm-unsafe-eval'   compiling WebAssembly (onnxruntime-web runs wasm); no eval, no inline scripts
//   worker-src 'self' blob:          the engine worker is a file of the build; blob: for workers a library starts
//                                    from a blob URL (onnxruntime-web makes blob URLs for its wasm threads)
//   style-src 'self'                 no 'unsafe-inline': the build has no <style> elements or style="" attributes;
//                                    React's `style` props and uPlot set styles through the CSSOM, which CSP allows
// Dev (`npm start`) gets no policy: Vite's dev server adds an inline script (React Refresh's preamble) and a <style>
// element per imported CSS file, and HMR connects over ws:, so a dev policy would need 'unsafe-inline' for both and
// check nothing the build's does. A meta policy does not reach workers (they take the policy of their own response):
// a host that wants the worker governed too sends the same policy as a header.
import type { Plugin } from 'vite';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
].join('; ');

/** The lab page (the root index.html) of a build gets the policy; other pages (src/bench/*.html) do not. */
export function contentSecurityPolicy(): Plugin {
  return {
    name: 'rlhf-lab:content-security-policy',
    apply: 'build',
    transformIndexHtml: (_html, { path }) =>
      path === '/index.html' ? [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY }, injectTo: 'head-prepend' }] : undefined,
  };
}
