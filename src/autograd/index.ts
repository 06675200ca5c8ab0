// Autograd over GPU tensors: the tape and the differentiable ops.
export * as ops from './ops';
export { type GradTarget, Tape, type TapeOptions, Var } from './tape';
