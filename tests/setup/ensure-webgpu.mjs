#!/usr/bin/env node
// Makes sure this machine can run WebGPU without a GPU before the tests start: Debian's chromium (headless
// browser tests, and SwiftShader — the software Vulkan driver it ships) and the Vulkan loader that Dawn needs in
// Node. Installs them with apt-get when missing and allowed (root or passwordless sudo); otherwise stops with the
// exact command to run.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const PACKAGES = ['chromium', 'libvulkan1'];

function hasVulkanLoader() {
  try {
    return execSync('ldconfig -p', { encoding: 'utf8' }).includes('libvulkan.so.1');
  } catch {
    return ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1'].some(existsSync);
  }
}

const missing = [];
if (!existsSync(CHROMIUM) || !existsSync(SWIFTSHADER_ICD)) missing.push('chromium');
if (!hasVulkanLoader()) missing.push('libvulkan1');

if (missing.length === 0) process.exit(0);

const command = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${PACKAGES.join(' ')}`;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
let prefix = isRoot ? '' : null;
if (prefix === null) {
  try {
    execSync('sudo -n true', { stdio: 'ignore' });
    prefix = 'sudo ';
  } catch {
    prefix = null;
  }
}
const hasApt = existsSync('/usr/bin/apt-get');

if (prefix === null || !hasApt) {
  console.error(
    `\nWebGPU tests need ${missing.join(' and ')} (SwiftShader software Vulkan + headless Chromium).\n` +
      (hasApt
        ? `Install them with:\n  sudo ${command.replace('&& ', '&& sudo ')}\n`
        : `Install Chromium with its SwiftShader Vulkan driver and the Vulkan loader (libvulkan.so.1), then set\n` +
          `CHROMIUM_PATH to the browser and VK_ICD_FILENAMES to a Vulkan ICD file Dawn can use.\n`),
  );
  process.exit(1);
}

console.log(`Installing ${PACKAGES.join(', ')} for headless WebGPU (missing: ${missing.join(', ')}) …`);
execSync(`${prefix}sh -c '${command}'`, { stdio: 'inherit' });
if (!existsSync(CHROMIUM) || !existsSync(SWIFTSHADER_ICD) || !hasVulkanLoader()) {
  console.error('apt-get finished but chromium/SwiftShader or libvulkan.so.1 is still missing.');
  process.exit(1);
}
