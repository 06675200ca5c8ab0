export { ChartGrid, CHARTS, type ChartGridProps, type ChartSpec } from './ChartGrid';
export { FrontierChart, FRONTIER_TITLE, type FrontierChartProps } from './FrontierChart';
export { LineChart, type ChartLine, type LineChartProps } from './LineChart';
export { formatDuration, formatValue } from './format';
export { PALETTE } from './runs';
export { emaSmooth } from './smoothing';
