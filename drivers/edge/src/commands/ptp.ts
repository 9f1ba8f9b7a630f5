import { Joi } from '@bilbycast/driver-sdk';
import { ifaceName } from '../schemas';
import { command } from './common';

export const PTP_MODES = ['auto', 'grandmaster', 'slave-only', 'off'] as const;

export const ptpCommands = [
  command('get_ptp_mode', 'Read the PTP role and settings', {}, { role: 'viewer', mutates: false }),
  command('set_ptp_mode', 'Set the PTP role (auto, grandmaster, slave-only, off) and settings', {
    mode: Joi.string()
      .valid(...PTP_MODES)
      .required()
      .description('PTP role'),
    iface: ifaceName.description('PTP interface ([A-Za-z0-9._-], 1-15 chars)'),
    domain: Joi.number().integer().min(0).max(127).description('PTP domain'),
    priority1: Joi.number().integer().min(0).max(255).description('BMCA priority1'),
    scan_timeout: Joi.number().integer().min(1).max(300).description('Auto mode: seconds to listen for an Announce'),
    offset_warn_ns: Joi.number().integer().min(0).description('Warn when |offset| exceeds this (ns)'),
    path_delay_warn_ns: Joi.number().integer().min(0).description('Warn when the mean path delay exceeds this (ns)')
  }),
  command('get_audio_channel_map', 'Read the IS-08 audio channel map', {}, { role: 'viewer', mutates: false })
];
