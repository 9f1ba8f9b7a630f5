/** Many simulated devices against one manager URL. */
import { SimulatedDevice } from './device';
import type { SimulatedDeviceOptions } from './types';

export interface FleetOptions {
  url: string;
  devices: Array<Omit<SimulatedDeviceOptions, 'url'>>;
  /** Spread the starts evenly over this many ms instead of connecting all at once. */
  ramp_ms?: number;
}

export interface Fleet {
  devices: SimulatedDevice[];
  start(): void;
  stop(): Promise<void>;
  /** Resolves once every device has been online (rejects after timeoutMs, default 30000). */
  waitAllOnline(timeoutMs?: number): Promise<void>;
}

export function createFleet(options: FleetOptions): Fleet {
  const devices = options.devices.map((device) => new SimulatedDevice({ ...device, url: options.url }));
  const rampTimers = new Set<NodeJS.Timeout>();

  return {
    devices,
    start() {
      const ramp = options.ramp_ms ?? 0;
      devices.forEach((device, i) => {
        const at = devices.length > 1 ? Math.floor((ramp * i) / (devices.length - 1)) : 0;
        if (at === 0) return device.start();
        const timer = setTimeout(() => {
          rampTimers.delete(timer);
          device.start();
        }, at);
        rampTimers.add(timer);
      });
    },
    async stop() {
      for (const timer of rampTimers) clearTimeout(timer);
      rampTimers.clear();
      await Promise.all(devices.map((device) => device.stop()));
    },
    waitAllOnline(timeoutMs = 30_000) {
      const pending = new Set(devices.filter((device) => device.state !== 'online'));
      if (pending.size === 0) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const listeners = new Map<SimulatedDevice, (state: string) => void>();
        const cleanup = () => {
          clearTimeout(timer);
          for (const [device, listener] of listeners) device.off('state', listener);
        };
        for (const device of pending) {
          const listener = (state: string) => {
            if (state !== 'online') return;
            pending.delete(device);
            device.off('state', listener);
            if (pending.size > 0) return;
            cleanup();
            resolve();
          };
          listeners.set(device, listener);
          device.on('state', listener);
        }
        const timer = setTimeout(() => {
          cleanup();
          const names = [...pending]
            .slice(0, 5)
            .map((d) => `${d.name} (${d.state})`)
            .join(', ');
          reject(
            new Error(
              `${devices.length - pending.size}/${devices.length} devices online after ${timeoutMs} ms; not online: ${names}${pending.size > 5 ? ', …' : ''}`
            )
          );
        }, timeoutMs);
      });
    }
  };
}
