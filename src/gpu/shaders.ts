// WGSL sources, one kernel per file in /shaders, bundled as strings by Vite (works in the page, the worker,
// Vitest in Node and in Chromium, and vite-node CLIs). A line `//! include <name>` in a kernel is replaced by
// shaders/lib/<name>.wgsl: a helper several kernels share (WGSL has no imports).
const glob = (sources: Record<string, string>) =>
  new Map<string, string>(Object.entries(sources).map(([path, code]) => [path.slice(path.lastIndexOf('/') + 1, -'.wgsl'.length), code]));

const kernels = glob(import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>);
const library = glob(import.meta.glob('../../shaders/lib/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>);

const INCLUDE = /^\/\/! include (\S+)[ \t]*$/gm;

/** Source of `shaders/<name>.wgsl`, its includes expanded. */
export function shaderSource(name: string): string {
  const code = kernels.get(name);
  if (code === undefined) throw new Error(`Unknown shader "${name}": no shaders/${name}.wgsl`);
  return code.replace(INCLUDE, (_, lib: string) => {
    const helper = library.get(lib);
    if (helper === undefined) throw new Error(`shaders/${name}.wgsl includes "${lib}": no shaders/lib/${lib}.wgsl`);
    return helper;
  });
}

export function shaderNames(): string[] {
  return [...kernels.keys()].sort();
}
