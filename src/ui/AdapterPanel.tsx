import type { AdapterReport } from '../gpu/runtime';

const KIB = 1024;
const MIB = 1024 * KIB;

export function AdapterPanel({ adapter }: { adapter: AdapterReport }) {
  const name = [adapter.vendor, adapter.architecture, adapter.device, adapter.description].filter(Boolean).join(' · ');
  const features = Object.entries(adapter.features)
    .filter(([, on]) => on)
    .map(([f]) => f);
  return (
    <section aria-label="WebGPU adapter">
      <h2>WebGPU adapter</h2>
      <dl>
        <dt>Adapter</dt>
        <dd data-testid="adapter-name">{name || 'unnamed adapter'}</dd>
        <dt>Kind</dt>
        <dd>{adapter.software ? 'software (CPU emulation: correct but slow)' : 'hardware'}</dd>
        <dt>Optional features</dt>
        <dd>{features.length ? features.join(', ') : 'none'}</dd>
        <dt>Largest storage buffer</dt>
        <dd>{Math.round(adapter.limits.maxStorageBufferBindingSize / MIB)} MiB</dd>
        <dt>Workgroup memory</dt>
        <dd>{adapter.limits.maxComputeWorkgroupStorageSize / KIB} KiB</dd>
      </dl>
    </section>
  );
}
