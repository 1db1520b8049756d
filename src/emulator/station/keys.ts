/**
 * Configuration keys of a station (1.6 §5.3 ChangeConfiguration / §5.8 GetConfiguration; 2.x variables through
 * ../commands/v2-device-model.ts). Stations made from one template share their key map until one of them
 * changes a key: the first change copies it (the station remembers that it owns its copy).
 */
import type { ConfigKey, StationSpec } from '../types.js';

export function readKey(spec: StationSpec, name: string): string | undefined {
  return spec.keys.get(name)?.value;
}

/** Sets a key in `spec`; `owned` false: the map may be shared, so it is copied first. */
export function writeKey(spec: StationSpec, owned: boolean, name: string, value: string): void {
  if (!owned) spec.keys = new Map([...spec.keys].map(([k, v]): [string, ConfigKey] => [k, { ...v }]));
  const entry = spec.keys.get(name);
  if (entry === undefined) spec.keys.set(name, { value, readonly: false });
  else entry.value = value;
}

/** MeterValueSampleInterval in ms (0: no periodic samples; 60 s when the key is absent). */
export function sampleIntervalMs(spec: StationSpec): number {
  const s = Number(readKey(spec, 'MeterValueSampleInterval') ?? 60);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 0;
}
