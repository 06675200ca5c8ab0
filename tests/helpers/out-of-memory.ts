// A buffer creation that fails as on a device out of memory, made on the real device: the buffer is created invalid
// (a size over maxBufferSize, its own validation error swallowed) and the 'out-of-memory' error scope around the
// creation reports a GPUOutOfMemoryError, which is what a driver out of memory gives.

/** Makes the next creation of a buffer labelled `label` on `device` fail as if the device were out of memory. */
export function failNextCreation(device: GPUDevice, label: string): void {
  const { createBuffer, popErrorScope } = device;
  let failing = false;
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    if (descriptor.label !== label) return createBuffer.call(device, descriptor);
    device.createBuffer = createBuffer;
    device.pushErrorScope('validation');
    const invalid = createBuffer.call(device, { ...descriptor, size: device.limits.maxBufferSize + 256 });
    void popErrorScope.call(device);
    failing = true;
    return invalid;
  };
  device.popErrorScope = () => {
    if (!failing) return popErrorScope.call(device);
    failing = false;
    device.popErrorScope = popErrorScope;
    return popErrorScope.call(device).then(() => new GPUOutOfMemoryError('simulated: out of device memory'));
  };
}
