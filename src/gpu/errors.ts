// Errors the GPU runtime raises. Each names what failed and, where it can, what to do about it.

/** No WebGPU adapter could be had: says how to get one on this kind of machine. */
export class NoAdapterError extends Error {
  constructor(where: string) {
    super(
      `No WebGPU adapter in ${where}. ` +
        (where === 'node'
          ? 'Install a Vulkan driver Dawn can use: on Debian/Ubuntu run `apt-get install -y chromium libvulkan1` ' +
            '(SwiftShader, a software Vulkan, ships with chromium at /usr/lib/chromium/libvk_swiftshader.so) ' +
            'and set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json, or run on a machine with a GPU driver.'
          : 'Use a browser with WebGPU (Chrome/Edge 113+, Safari 26+, Firefox 141+ on Windows) served over https or ' +
            'localhost; on Linux Chrome may need chrome://flags/#enable-unsafe-webgpu.'),
    );
    this.name = 'NoAdapterError';
  }
}

/** A validation or out-of-memory error raised while running a step, naming the kernel(s) involved. */
export class GpuKernelError extends Error {
  constructor(
    readonly kernels: readonly string[],
    readonly gpuMessage: string,
    /** Set when the message names no kernel: the step it happened in (its kernels are then all listed). */
    readonly step?: string,
  ) {
    super(
      step === undefined
        ? `GPU error in kernel ${kernels.join(', ')}: ${gpuMessage}`
        : `GPU error in step "${step}" (kernels: ${kernels.join(', ') || 'none'}): ${gpuMessage}`,
    );
    this.name = 'GpuKernelError';
  }
}

/** Bytes in mebibytes for messages: one decimal below 10 MiB, none above (e.g. "4.8 MiB", "1024 MiB"). */
export function mebibytes(bytes: number): string {
  const mib = bytes / 2 ** 20;
  return `${mib.toFixed(mib < 10 ? 1 : 0)} MiB`;
}

/**
 * Creating a buffer failed for want of memory (the device's error scope said so). Thrown by the step that first
 * submits after it, instead of the errors the invalid buffer causes there, so a run stops naming the allocation.
 */
export class GpuOutOfMemoryError extends Error {
  constructor(
    /** Bytes the failed buffer asked for. */
    readonly bytes: number,
    /** The buffer's label: what it was for. */
    readonly what: string,
    /** Bytes of the pool's buffers in use when it was asked for. */
    readonly inUseBytes: number,
    readonly gpuMessage: string,
  ) {
    super(
      `the GPU ran out of memory allocating ${mebibytes(bytes)} for "${what}" with ${mebibytes(inUseBytes)} in use ` +
        `(${gpuMessage.split('\n')[0].trim()}); use smaller batches or a smaller preset`,
    );
    this.name = 'GpuOutOfMemoryError';
  }
}

/** The device was lost (driver reset, tab backgrounded too long, destroy()); nothing further can run on it. */
export class DeviceLostError extends Error {
  constructor(readonly reason: string, detail: string) {
    super(`The GPU device was lost (${reason}): ${detail || 'no detail given'}. Recreate the device and resume from saved state.`);
    this.name = 'DeviceLostError';
  }
}
