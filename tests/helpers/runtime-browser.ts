// Test runtime in headless Chromium (Vitest browser mode): navigator.gpu on SwiftShader.
import { browserGpu, createRuntime } from '../../src/gpu';

export const createTestRuntime = () => createRuntime(browserGpu(), 'page');
export const testHost = 'browser';
