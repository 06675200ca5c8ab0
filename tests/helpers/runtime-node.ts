// Test runtime in Node: Dawn on SwiftShader (or a real driver where there is one).
import { createNodeRuntime } from '../../src/gpu/node';

export const createTestRuntime = createNodeRuntime;
export const testHost = 'node';
