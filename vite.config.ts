/// <reference types="vitest/config" />
import { existsSync } from 'node:fs';
import react from '@vitejs/plugin-react';
import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vite';
import { contentSecurityPolicy } from './src/build/csp';
import { SummaryLineReporter } from './tests/setup/summary-reporter';

// The Vulkan loader reads these when Dawn starts; they must be real environment variables of this (main)
// process so Vitest's forked workers inherit them. SwiftShader ships with Debian's chromium.
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
process.env.XDG_RUNTIME_DIR ??= '/tmp';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// --enable-unsafe-webgpu is the one flag WebGPU needs on Linux; the rest keep Chromium off the network.
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export default defineConfig({
  plugins: [react(), contentSecurityPolicy()],
  worker: { format: 'es' },
  // onnxruntime-web/wasm: the ONNX panel's worker imports it only when used; listed so dev does not reload then.
  optimizeDeps: { include: ['onnxruntime-web', 'onnxruntime-web/wasm', 'idb'] },
  build: { target: 'es2022' },
  test: {
    reporters: ['default', new SummaryLineReporter()],
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          include: ['tests/**/*.test.ts'],
          exclude: ['tests/browser/**'],
          pool: 'forks',
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'chromium',
          include: ['tests/kernels/**/*.test.ts', 'tests/gpu/**/*.test.ts', 'tests/browser/**/*.test.{ts,tsx}'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({ launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS } }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});
