// The GPU runtime's public surface (Node-only device creation lives in ./node).
export { BufferPool, type BufferStats } from './buffers';
export { DeviceLostError, GpuKernelError, GpuOutOfMemoryError, mebibytes, NoAdapterError } from './errors';
export { PipelineCache, pipelineKey, type Overrides } from './pipelines';
export {
  browserGpu,
  createRuntime,
  GpuRuntime,
  memoryBudget,
  Step,
  type AdapterReport,
  type DispatchSpec,
  type GpuHost,
  type MemoryBudget,
  type KernelTime,
  type StepResult,
} from './runtime';
export { shaderNames, shaderSource } from './shaders';
export { params, Tensor, type DType, type TypedArrayOf } from './tensor';
export { splitTime, splittingTime, TIME_SPLIT_METHOD, TIMED_CATEGORIES, timed, type TimedCategory, type TimeSplit } from './time-split';
