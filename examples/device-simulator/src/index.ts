/**
 * @bilbycast/device-simulator — simulated bilbycast edges, relays and gateways that dial the
 * manager's `/ws/node` and behave like the real devices on the wire.
 */
export { SimulatedDevice, type SimulatedDeviceEvents, type PersistedCredentials } from './device';
export { createFleet, type Fleet, type FleetOptions } from './fleet';
export { rfc3339Nanos } from './clock';
export { frameText, sortedJson } from './wire-json';
export { THUMBNAIL_HEIGHT, THUMBNAIL_JPEG_BASE64, THUMBNAIL_WIDTH } from './thumbnail';
export { EDGE_CAPABILITIES, resourceIds } from './models/edge';
export type { CommandAction, CommandOutcome, DeviceCredentials, DeviceEvent, DeviceKind, DeviceState, SimulatedDeviceOptions } from './types';
