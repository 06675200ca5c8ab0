// React components in Vitest browser-mode tests: mount() renders into a fresh <div> on the page and returns it with a
// re-render function; everything mounted is unmounted and removed after each test.
import { act, type ReactNode } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach } from 'vitest';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const mounted: { root: Root; div: HTMLDivElement }[] = [];

export interface Mounted {
  div: HTMLDivElement;
  render(node: ReactNode): void;
  /** Unmounts now (the div stays on the page until the test ends). */
  unmount(): void;
}

export function mount(node: ReactNode, options: { width?: number } = {}): Mounted {
  const div = document.createElement('div');
  if (options.width !== undefined) div.style.width = `${options.width}px`;
  document.body.appendChild(div);
  const root = createRoot(div);
  act(() => root.render(node));
  mounted.push({ root, div });
  return { div, render: (n) => act(() => root.render(n)), unmount: () => act(() => root.unmount()) };
}

afterEach(() => {
  for (const { root, div } of mounted.splice(0)) {
    act(() => root.unmount());
    div.remove();
  }
});
