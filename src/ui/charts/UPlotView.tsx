// The one place that owns a uPlot instance: created on mount (and again for new options: uPlot's series are fixed
// once created), fed new data with setData, resized with its container (ResizeObserver), destroyed on unmount.
//
// Why uPlot: it draws on a canvas, is ~45 KB, and redraws 10k+ points per series in a few milliseconds (it
// decimates a line to the pixel columns it covers), so a chart can take a new batch of points 10 times a second
// for a whole run. SVG/React chart libraries make a DOM node (and a React element) per point and slow to a crawl
// at that size; the canvas also keeps React out of the per-point path: React only hands uPlot new arrays.
import { useLayoutEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface UPlotViewProps {
  /** uPlot's options without the size; a new object makes a new chart (keep it stable between data updates). */
  options: Omit<uPlot.Options, 'width' | 'height'>;
  data: uPlot.AlignedData;
  /** The accessible name of the chart image. */
  label: string;
  height: number;
  /** Called with the instance once it exists (tests read uPlot's data from it). */
  onCreate?: (plot: uPlot) => void;
}

const FALLBACK_WIDTH = 400;

export function UPlotView({ options, data, label, height, onCreate }: UPlotViewProps) {
  const ref = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);

  useLayoutEffect(() => {
    const el = ref.current!;
    const u = new uPlot({ ...options, width: el.clientWidth || FALLBACK_WIDTH, height }, data, el);
    plot.current = u;
    onCreate?.(u);
    // Resized on the next frame, not inside the observer: setSize changes the element's height (the legend), which
    // would be reported again within the same frame ("ResizeObserver loop completed with undelivered notifications").
    let frame = 0;
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => {
        const width = el.clientWidth;
        if (width > 0 && width !== u.width) u.setSize({ width, height });
      });
    });
    observer.observe(el);
    return () => {
      cancelAnimationFrame(frame);
      observer.disconnect();
      u.destroy();
      plot.current = undefined;
    };
    // Made again only for new options: data goes through setData below, size through the observer.
  }, [options]);

  useLayoutEffect(() => {
    const u = plot.current;
    // batch() commits (rescales and draws) synchronously instead of on a microtask, so an update costs what it
    // costs right here, inside React's commit.
    if (u && u.data !== data) u.batch(() => u.setData(data));
  }, [data]);

  return <div ref={ref} className="run-chart-plot" role="img" aria-label={label} />;
}
