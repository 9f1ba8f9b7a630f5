/**
 * InputConfig variants (edge `InputConfig`, internally tagged by `type`) and InputDefinition
 * (a top-level input: `id`, `name`, `active`, `group` + the flattened variant).
 *
 * The edge tolerates unknown fields (serde without deny_unknown_fields), so every variant is
 * `.unknown(true)`: only the fields defined here are checked.
 */
import { Joi } from '@bilbycast/driver-sdk';
import {
  aesKeyLen,
  bindAddr,
  clockDomain,
  idSchema,
  ipAddr,
  nameSchema,
  opaque,
  payloadType,
  programNumber,
  socketAddr,
  srtMode,
  st2110PixelFormat,
  url
} from './common';

/** Input types the edge knows; variants not modelled in detail are accepted loosely. */
export const INPUT_TYPES = [
  'rtp',
  'udp',
  'srt',
  'rist',
  'rtmp',
  'rtsp',
  'webrtc',
  'whep',
  'st2110_30',
  'st2110_31',
  'st2110_40',
  'st2110_20',
  'st2110_23',
  'rtp_audio',
  'bonded',
  'test_pattern',
  'mosaic',
  'media_player',
  'replay',
  'mxl_video',
  'mxl_audio',
  'mxl_anc',
  'sdi'
] as const;

/** Fields common to the transport-stream inputs. */
const tsCommon = {
  program_number: programNumber.description('MPEG-TS program to select (MPTS → SPTS)'),
  audio_encode: opaque.description('Optional audio re-encode settings'),
  video_encode: opaque.description('Optional video re-encode settings'),
  transcode: opaque.description('Optional audio transcode (channel shuffle / resample)'),
  pid_map: Joi.object().pattern(/^\d+$/, Joi.number().integer().min(0).max(8191)).description('PID remapping, source PID → output PID'),
  interface_binding: opaque.description('Bind to a named network interface'),
  ingress_delay_ms: Joi.number().integer().min(0).max(65535).description('Fixed ingress delay in milliseconds'),
  passthrough_clock: Joi.boolean().description('Pass the source clock through untouched')
};

const srtCommon = {
  mode: srtMode.required().description('SRT connection mode: caller, listener or rendezvous'),
  local_addr: socketAddr.description('Local bind address (listener / rendezvous), host:port'),
  remote_addr: socketAddr.description('Remote address (caller / rendezvous), host:port'),
  latency_ms: Joi.number().integer().min(0).max(60000).description('SRT latency in milliseconds'),
  passphrase: Joi.string().min(10).max(79).description('SRT encryption passphrase (10-79 characters)'),
  aes_key_len: aesKeyLen.description('AES key length in bytes (16, 24 or 32)'),
  stream_id: Joi.string().max(512).description('SRT stream id'),
  redundancy: opaque.description('SMPTE 2022-7 redundancy (second leg)'),
  bonding: opaque.description('SRT socket-group bonding')
};

const variants: Record<string, Joi.ObjectSchema> = {
  srt: Joi.object({
    ...srtCommon,
    ...tsCommon
  })
    .when(Joi.object({ mode: Joi.valid('listener', 'rendezvous') }).unknown(), {
      then: Joi.object({ local_addr: Joi.required() })
    })
    .when(Joi.object({ mode: Joi.valid('caller', 'rendezvous') }).unknown(), {
      then: Joi.object({ remote_addr: Joi.required() })
    }),
  rist: Joi.object({
    bind_addr: bindAddr.required().description('Local RTP address to receive RIST on, host:port'),
    buffer_ms: Joi.number().integer().min(0).max(30000).description('Receive buffer in milliseconds'),
    cname: Joi.string().max(255).description('RTCP CNAME'),
    redundancy: opaque.description('Second RIST leg'),
    ...tsCommon
  }),
  rtp: Joi.object({
    bind_addr: bindAddr.required().description('Address to receive RTP on (unicast or multicast group), host:port'),
    interface_addr: ipAddr.description('Interface IP for multicast join'),
    source_addr: ipAddr.description('Source IP for source-specific multicast'),
    fec_decode: opaque.description('SMPTE 2022-1 FEC decode'),
    redundancy: opaque.description('SMPTE 2022-7 redundancy (second leg)'),
    allowed_sources: Joi.array().items(ipAddr).description('Accept packets only from these source IPs'),
    allowed_payload_types: Joi.array().items(payloadType).description('Accept only these RTP payload types'),
    max_bitrate_mbps: Joi.number().positive().description('Drop above this bitrate (Mb/s)'),
    ...tsCommon
  }),
  udp: Joi.object({
    bind_addr: bindAddr.required().description('Address to receive UDP on (unicast or multicast group), host:port'),
    interface_addr: ipAddr.description('Interface IP for multicast join'),
    source_addr: ipAddr.description('Source IP for source-specific multicast'),
    ...tsCommon
  }),
  rtmp: Joi.object({
    listen_addr: bindAddr.required().description('RTMP listen address, host:port'),
    app: Joi.string().max(255).description('RTMP application name'),
    stream_key: Joi.string().max(1024).description('Expected stream key'),
    max_publishers: Joi.number().integer().min(1).description('Maximum simultaneous publishers'),
    ...tsCommon
  }),
  rtsp: Joi.object({
    rtsp_url: url('rtsp', 'rtsps').required().description('RTSP source URL'),
    username: Joi.string().max(255).description('RTSP user name'),
    password: Joi.string().max(1024).description('RTSP password'),
    transport: Joi.string().valid('tcp', 'udp').description('RTP transport: tcp (interleaved) or udp'),
    timeout_secs: Joi.number().integer().min(1).max(3600).description('Connect timeout in seconds'),
    reconnect_delay_secs: Joi.number().integer().min(0).max(3600).description('Delay between reconnects in seconds'),
    ...tsCommon
  }),
  webrtc: Joi.object({
    bind_addr: bindAddr.description('WHIP server bind address, host:port'),
    bearer_token: Joi.string().max(4096).description('Bearer token WHIP publishers must present'),
    video_only: Joi.boolean().description('Ignore audio'),
    public_ip: ipAddr.description('Public IP to advertise in ICE candidates'),
    stun_server: Joi.string().max(512).description('STUN server, host:port'),
    ...tsCommon
  }),
  whep: Joi.object({
    whep_url: url('http', 'https').required().description('WHEP endpoint to pull from'),
    bearer_token: Joi.string().max(4096).description('Bearer token for the WHEP endpoint'),
    video_only: Joi.boolean().description('Ignore audio'),
    ...tsCommon
  })
};

const st2110Common = {
  bind_addr: bindAddr.required().description('Multicast group / address to receive on, host:port'),
  interface_addr: ipAddr.description('Interface IP for the multicast join'),
  source_addr: ipAddr.description('Source IP for source-specific multicast'),
  redundancy: opaque.description('SMPTE 2022-7 Red/Blue second leg'),
  payload_type: payloadType.description('RTP payload type'),
  clock_domain: clockDomain.description('PTP clock domain'),
  allowed_sources: Joi.array().items(ipAddr).description('Accept packets only from these source IPs')
};

const st2110Audio = Joi.object({
  ...st2110Common,
  sample_rate: Joi.number().valid(48000, 96000).description('Sample rate in Hz'),
  bit_depth: Joi.number().valid(16, 24).description('Bits per sample'),
  channels: Joi.number().integer().min(1).max(64).description('Audio channels'),
  packet_time_us: Joi.number().valid(125, 250, 333, 1000, 4000).description('Packet time in microseconds')
});
variants.st2110_30 = st2110Audio;
variants.st2110_31 = st2110Audio;
variants.st2110_40 = Joi.object({ ...st2110Common });
variants.st2110_20 = Joi.object({
  ...st2110Common,
  width: Joi.number().integer().min(1).max(8192).required().description('Frame width in pixels'),
  height: Joi.number().integer().min(1).max(8192).required().description('Frame height in pixels'),
  frame_rate_num: Joi.number().integer().min(1).required().description('Frame-rate numerator'),
  frame_rate_den: Joi.number().integer().min(1).required().description('Frame-rate denominator'),
  pixel_format: st2110PixelFormat.required().description('Pixel format'),
  video_encode: opaque.required().description('Encoder settings (raw video is encoded to a TS)')
});

/** Per-variant schemas, keyed by the `type` discriminator. */
export const inputVariants: Readonly<Record<string, Joi.ObjectSchema>> = variants;

function withType(type: string, schema: Joi.ObjectSchema, extra: Record<string, Joi.Schema> = {}): Joi.ObjectSchema {
  return schema.keys({ type: Joi.string().valid(type).required().description('Input type'), ...extra }).unknown(true);
}

function alternativesFor(extra: Record<string, Joi.Schema>): Joi.AlternativesSchema {
  const modelled = Object.keys(variants);
  const others = INPUT_TYPES.filter((t) => !modelled.includes(t));
  let alt = Joi.alternatives();
  const chain = modelled.map((type) => ({ is: type, then: withType(type, variants[type], extra) }));
  alt = alt.conditional('.type', {
    switch: [
      ...chain,
      {
        is: Joi.valid(...others),
        then: Joi.object({
          type: Joi.string()
            .valid(...others)
            .required()
            .description('Input type'),
          ...extra
        }).unknown(true),
        otherwise: Joi.object({
          type: Joi.string()
            .valid(...INPUT_TYPES)
            .required()
            .description('Input type')
        }).unknown(true)
      }
    ]
  });
  return alt;
}

/** A protocol variant (as embedded inline in a legacy flow's `input`). */
export const inputConfigSchema = alternativesFor({}).description('Input configuration, selected by type');

/** A top-level input: id, name, active flag and the flattened protocol variant. */
export const inputDefinitionSchema = alternativesFor({
  id: idSchema.required().description('Input id (max 64 chars)'),
  name: nameSchema.required().description('Input name'),
  active: Joi.boolean().description('Whether this input feeds its flow (at most one active per flow)'),
  group: Joi.string().max(64).description('Optional grouping label')
}).description('Input definition, selected by type');
