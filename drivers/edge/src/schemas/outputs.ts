/**
 * OutputConfig variants (edge `OutputConfig`, internally tagged by `type`; every variant
 * carries `id`, `name`, `active`, `group`). Unknown fields are tolerated like on the edge.
 */
import { Joi } from '@bilbycast/driver-sdk';
import {
  aesKeyLen,
  bindAddr,
  clockDomain,
  dscp,
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

export const OUTPUT_TYPES = [
  'rtp',
  'udp',
  'srt',
  'rist',
  'rtmp',
  'hls',
  'cmaf',
  'webrtc',
  'st2110_30',
  'st2110_31',
  'st2110_40',
  'st2110_20',
  'st2110_23',
  'rtp_audio',
  'bonded',
  'display',
  'sdi',
  'mxl_video',
  'mxl_audio',
  'mxl_anc'
] as const;

const base = {
  id: idSchema.required().description('Output id (max 64 chars)'),
  name: nameSchema.required().description('Output name'),
  active: Joi.boolean().description('Whether the output is sending'),
  group: Joi.string().max(64).description('Optional grouping label')
};

const tsCommon = {
  program_number: programNumber.description('MPEG-TS program to send'),
  audio_encode: opaque.description('Optional audio re-encode settings'),
  video_encode: opaque.description('Optional video re-encode settings'),
  transcode: opaque.description('Optional audio transcode'),
  delay: opaque.description('Output delay (fixed / target_ms / target_frames)'),
  interface_binding: opaque.description('Bind to a named network interface')
};

const st2110Common = {
  dest_addr: socketAddr.required().description('Destination (multicast) address, host:port'),
  bind_addr: bindAddr.description('Local bind address, host:port'),
  interface_addr: ipAddr.description('Interface IP to send from'),
  redundancy: opaque.description('SMPTE 2022-7 Red/Blue second leg'),
  payload_type: payloadType.description('RTP payload type'),
  clock_domain: clockDomain.description('PTP clock domain'),
  dscp: dscp.description('DSCP marking (0-63)'),
  ssrc: Joi.number().integer().min(0).max(4294967295).description('RTP SSRC')
};

const st2110Audio = Joi.object({
  ...st2110Common,
  sample_rate: Joi.number().valid(48000, 96000).description('Sample rate in Hz'),
  bit_depth: Joi.number().valid(16, 24).description('Bits per sample'),
  channels: Joi.number().integer().min(1).max(64).description('Audio channels'),
  packet_time_us: Joi.number().valid(125, 250, 333, 1000, 4000).description('Packet time in microseconds'),
  audio_track_index: Joi.number().integer().min(0).max(255).description('Source audio track to send')
});

const variants: Record<string, Joi.ObjectSchema> = {
  srt: Joi.object({
    mode: srtMode.required().description('SRT connection mode: caller, listener or rendezvous'),
    local_addr: socketAddr.description('Local bind address (listener / rendezvous), host:port'),
    remote_addr: socketAddr.description('Remote address (caller / rendezvous), host:port'),
    latency_ms: Joi.number().integer().min(0).max(60000).description('SRT latency in milliseconds'),
    passphrase: Joi.string().min(10).max(79).description('SRT encryption passphrase (10-79 characters)'),
    aes_key_len: aesKeyLen.description('AES key length in bytes (16, 24 or 32)'),
    stream_id: Joi.string().max(512).description('SRT stream id'),
    redundancy: opaque.description('SMPTE 2022-7 redundancy (second leg)'),
    bonding: opaque.description('SRT socket-group bonding'),
    ...tsCommon
  })
    .when(Joi.object({ mode: Joi.valid('listener', 'rendezvous') }).unknown(), {
      then: Joi.object({ local_addr: Joi.required() })
    })
    .when(Joi.object({ mode: Joi.valid('caller', 'rendezvous') }).unknown(), {
      then: Joi.object({ remote_addr: Joi.required() })
    }),
  rist: Joi.object({
    remote_addr: socketAddr.required().description('RIST receiver address, host:port'),
    local_addr: socketAddr.description('Local bind address, host:port'),
    buffer_ms: Joi.number().integer().min(0).max(30000).description('Retransmit buffer in milliseconds'),
    cname: Joi.string().max(255).description('RTCP CNAME'),
    redundancy: opaque.description('Second RIST leg'),
    ...tsCommon
  }),
  rtp: Joi.object({
    dest_addr: socketAddr.required().description('Destination address (unicast or multicast), host:port'),
    bind_addr: bindAddr.description('Local bind address, host:port'),
    interface_addr: ipAddr.description('Interface IP to send from'),
    fec_encode: opaque.description('SMPTE 2022-1 FEC encode'),
    dscp: dscp.description('DSCP marking (0-63)'),
    redundancy: opaque.description('SMPTE 2022-7 second leg'),
    ...tsCommon
  }),
  udp: Joi.object({
    dest_addr: socketAddr.required().description('Destination address (unicast or multicast), host:port'),
    bind_addr: bindAddr.description('Local bind address, host:port'),
    interface_addr: ipAddr.description('Interface IP to send from'),
    dscp: dscp.description('DSCP marking (0-63)'),
    ...tsCommon
  }),
  rtmp: Joi.object({
    dest_url: url('rtmp', 'rtmps').required().description('RTMP(S) server URL'),
    stream_key: Joi.string().max(1024).required().description('Stream key'),
    reconnect_delay_secs: Joi.number().integer().min(0).max(3600).description('Delay between reconnects in seconds'),
    max_reconnect_attempts: Joi.number().integer().min(0).description('Give up after this many reconnects'),
    ...tsCommon
  }),
  hls: Joi.object({
    ingest_url: url('http', 'https').required().description('HLS ingest (PUT/POST) base URL'),
    segment_duration_secs: Joi.number().min(0.5).max(60).description('Segment duration in seconds'),
    auth_token: Joi.string().max(4096).description('Bearer token for the ingest server'),
    max_segments: Joi.number().integer().min(1).max(1000).description('Segments kept in the playlist'),
    ...tsCommon
  }),
  cmaf: Joi.object({
    ingest_url: url('http', 'https').required().description('CMAF ingest base URL'),
    ...tsCommon
  }),
  webrtc: Joi.object({
    mode: Joi.string().valid('whip_client', 'whep_server').description('Push to a WHIP server or serve WHEP viewers'),
    whip_url: url('http', 'https').description('WHIP endpoint (whip_client mode)'),
    bearer_token: Joi.string().max(4096).description('Bearer token'),
    max_viewers: Joi.number().integer().min(1).description('Viewer limit (whep_server mode)'),
    public_ip: ipAddr.description('Public IP to advertise in ICE candidates'),
    video_only: Joi.boolean().description('Send video only'),
    ...tsCommon
  }).when(Joi.object({ mode: Joi.valid('whip_client') }).unknown(), { then: Joi.object({ whip_url: Joi.required() }) }),
  st2110_30: st2110Audio,
  st2110_31: st2110Audio,
  st2110_40: Joi.object({ ...st2110Common }),
  st2110_20: Joi.object({
    ...st2110Common,
    width: Joi.number().integer().min(1).max(8192).required().description('Frame width in pixels'),
    height: Joi.number().integer().min(1).max(8192).required().description('Frame height in pixels'),
    frame_rate_num: Joi.number().integer().min(1).required().description('Frame-rate numerator'),
    frame_rate_den: Joi.number().integer().min(1).required().description('Frame-rate denominator'),
    pixel_format: st2110PixelFormat.required().description('Pixel format'),
    wire_pacing: opaque.description('ST 2110-21 wire pacing')
  })
};

export const outputVariants: Readonly<Record<string, Joi.ObjectSchema>> = variants;

const modelled = Object.keys(variants);
const others = OUTPUT_TYPES.filter((t) => !modelled.includes(t));

/** An output, selected by `type`. */
export const outputConfigSchema = Joi.alternatives()
  .conditional('.type', {
    switch: [
      ...modelled.map((type) => ({
        is: type,
        then: variants[type].keys({ type: Joi.string().valid(type).required().description('Output type'), ...base }).unknown(true)
      })),
      {
        is: Joi.valid(...others),
        then: Joi.object({
          type: Joi.string()
            .valid(...others)
            .required()
            .description('Output type'),
          ...base
        }).unknown(true),
        otherwise: Joi.object({
          type: Joi.string()
            .valid(...OUTPUT_TYPES)
            .required()
            .description('Output type')
        }).unknown(true)
      }
    ]
  })
  .description('Output configuration, selected by type');
