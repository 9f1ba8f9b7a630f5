import { Joi, defineDriver, type DeviceSummary } from '@bilbycast/driver-sdk';

/** What an ACME encoder reports in its `stats` messages. */
interface AcmeStats {
  encoders?: { id?: string; running?: boolean; bitrate_kbps?: number }[];
  uptime_secs?: number;
}

const encoderId = Joi.string()
  .pattern(/^enc[0-9]{1,2}$/)
  .required()
  .description('Encoder id, e.g. enc1');

/** Numbers for the dashboard; any payload shape is tolerated. */
function summarize(stats: unknown): DeviceSummary {
  const encoders = Array.isArray((stats as AcmeStats | null)?.encoders) ? (stats as AcmeStats).encoders! : [];
  const running = encoders.filter((e) => e && e.running === true);
  const kbps = running.reduce((sum, e) => sum + (typeof e.bitrate_kbps === 'number' ? e.bitrate_kbps : 0), 0);
  const uptime = (stats as AcmeStats | null)?.uptime_secs;
  return {
    flows_active: running.length,
    flows_total: encoders.length,
    bitrate_bps: kbps * 1000,
    uptime_secs: typeof uptime === 'number' ? uptime : undefined,
    metrics: { encoders_running: running.length }
  };
}

/** ACME encoders: a third-party device type added without changing the manager. */
export const driver = defineDriver({
  device_type: 'acme_encoder',
  display_name: 'ACME Encoder',
  commands: [
    {
      name: 'get_status',
      description: 'Read the encoder status',
      requires_role: 'viewer',
      params: Joi.object({}),
      timeout_ms: 5000,
      mutates: false
    },
    {
      name: 'set_bitrate',
      description: "Change one encoder's output bitrate",
      requires_role: 'operator',
      params: Joi.object({
        encoder_id: encoderId,
        bitrate_kbps: Joi.number().integer().min(100).max(50_000).required().description('Target bitrate in kbit/s')
      }),
      timeout_ms: 10_000,
      mutates: true
    },
    {
      name: 'reboot',
      description: 'Reboot the encoder (interrupts every stream)',
      requires_role: 'admin',
      params: Joi.object({ confirm: Joi.boolean().valid(true).required().description('Must be true') }),
      timeout_ms: 60_000,
      mutates: true
    }
  ],
  summarize,
  ui_sections: ['flows', 'config', 'events'],
  ai_protocol: 'ACME encoders accept get_status, set_bitrate {encoder_id, bitrate_kbps} and reboot {confirm: true}.',
  topology: { icon: 'encoder', color: '#f97316' }
});

export default driver;
