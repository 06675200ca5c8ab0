// WGSL sources, one kernel per file in /shaders, bundled as strings by Vite (works in the page, the worker,
// Vitest in Node and in Chromium, and vite-node CLIs).
const sources = import.meta.glob('../../shaders/*.wgsl', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

const byName = new Map<string, string>(
  Object.entries(sources).map(([path, code]) => [path.slice(path.lastIndexOf('/') + 1, -'.wgsl'.length), code]),
);

/** Source of `shaders/<name>.wgsl`. */
export function shaderSource(name: string): string {
  const code = byName.get(name);
  if (code === undefined) throw new Error(`Unknown shader "${name}": no shaders/${name}.wgsl`);
  return code;
}

export function shaderNames(): string[] {
  return [...byName.keys()].sort();
}
