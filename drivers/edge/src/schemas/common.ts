/**
 * Building blocks shared by the edge config schemas: identifiers, socket addresses, enums.
 */
import { Joi, resourceId } from '@bilbycast/driver-sdk';

/**
 * Identifier of a flow, input, output or flow group, as the edge validates it: 1-64 bytes of
 * UTF-8 without control characters (ids made in the edge's own UI may hold spaces or accents).
 */
export const idSchema = resourceId(64);

/** Human-readable name (max 256 chars). */
export const nameSchema = Joi.string().min(1).max(256);

/** Tunnel ids are UUIDs minted by the manager. */
export const uuidSchema = Joi.string().guid();

/** Checks the port of a `host:port` / `[v6]:port` string is 1-65535. */
function checkSocketAddr(value: string, helpers: { error(code: string): unknown }): unknown {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(value);
  if (!match) return helpers.error('socketAddr.format');
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return helpers.error('socketAddr.port');
  return value;
}

const socketAddrMessages = {
  'socketAddr.format': '{{#label}} must be host:port (IPv6 as [addr]:port)',
  'socketAddr.port': '{{#label}} must have a port between 1 and 65535'
};

/** A `host:port` socket address whose port must be 1-65535. */
export const socketAddr = Joi.string().max(261).custom(checkSocketAddr, 'socket address').messages(socketAddrMessages);

/** A bind address: `host:port`, port 0 is not allowed either (the edge needs a fixed port). */
export const bindAddr = socketAddr;

/** An interface / source IP address without port. */
export const ipAddr = Joi.string().ip({ cidr: 'forbidden' });

/** A UDP/TCP port number. */
export const port = Joi.number().integer().min(1).max(65535);

/** URL with one of the given schemes. */
export const url = (...schemes: string[]) => Joi.string().uri({ scheme: schemes }).max(2048);

/** Linux interface name: [A-Za-z0-9._-], 1-15 bytes (product-behaviour §7). */
export const ifaceName = Joi.string().pattern(/^[A-Za-z0-9._-]{1,15}$/, 'interface name');

/** RTP payload type (dynamic range allowed). */
export const payloadType = Joi.number().integer().min(0).max(127);

/** PTP clock domain. */
export const clockDomain = Joi.number().integer().min(0).max(127);

export const dscp = Joi.number().integer().min(0).max(63);

/** MPEG-TS program number. */
export const programNumber = Joi.number().integer().min(1).max(65535);

/** SRT connection mode. */
export const srtMode = Joi.string().valid('caller', 'listener', 'rendezvous');

/** AES key length in bytes for SRT encryption. */
export const aesKeyLen = Joi.number().valid(16, 24, 32);

/** ST 2110-20 pixel formats. */
export const st2110PixelFormat = Joi.string().valid('yuv422_8bit', 'yuv422_10bit');

/** Splice mode override accepted by activate_input / update_flow_assembly. */
export const spliceMode = Joi.string().valid('pmt_bump', 'pes_aligned');

/** An opaque nested object the edge understands (passed through untouched). */
export const opaque = Joi.object().unknown(true);
