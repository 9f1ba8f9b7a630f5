/**
 * The relay's command catalogue (PROTOCOL.md §12.3, product behaviour §6.4).
 *
 * Every parameter schema is a plain joi object built from the SDK's re-exported Joi so the
 * manager can publish it as JSON Schema (joi-to-json) and validate the action before sending.
 */
import { Joi, resourceId, type CommandDefinition } from '@bilbycast/driver-sdk';

/** The relay answers every command promptly; 15 s is the default (PROTOCOL.md §8.3). */
export const RELAY_COMMAND_TIMEOUT_MS = 15_000;

const tunnelId = Joi.string()
  .guid({ version: ['uuidv1', 'uuidv2', 'uuidv3', 'uuidv4', 'uuidv5', 'uuidv6', 'uuidv7', 'uuidv8'] })
  .required()
  .description('Tunnel UUID');

/** The id a connected edge gave itself (any text without control characters, as the relay lists it). */
const edgeId = resourceId(256).required().description('Id of the connected edge, as the relay lists it');

/** Bind tokens are hex HMAC-SHA256 digests (64 hex chars); accept any sane hex length. */
const bindToken = Joi.string()
  .pattern(/^[0-9a-fA-F]{32,256}$/)
  .required()
  .messages({ 'string.pattern.base': '{{#label}} must be a hex string (32 to 256 hex characters)' });

const noParams = () => Joi.object({});

const cascadeSource = Joi.alternatives().try(
  Joi.string()
    .uri({ scheme: ['http', 'https'] })
    .max(2048),
  Joi.object().unknown(true)
);

export const relayCommands: CommandDefinition[] = [
  {
    name: 'get_config',
    description: 'Read the relay configuration (secrets redacted); answered with a config_response.',
    requires_role: 'operator',
    params: noParams(),
    timeout_ms: RELAY_COMMAND_TIMEOUT_MS,
    mutates: false
  },
  {
    name: 'list_tunnels',
    description: 'List the tunnels the relay currently routes.',
    requires_role: 'operator',
    params: noParams(),
    timeout_ms: RELAY_COMMAND_TIMEOUT_MS,
    mutates: false
  },
  {
    name: 'list_edges',
    description: 'List the edges connected to the relay.',
    requires_role: 'operator',
    params: noParams(),
    timeout_ms: RELAY_COMMAND_TIMEOUT_MS,
    mutates: false
  },
  {
    name: 'list_udp_sessions',
    description: 'List the native-UDP relay sessions.',
    requires_role: 'operator',
    params: noParams(),
    timeout_ms: RELAY_COMMAND_TIMEOUT_MS,
    mutates: false
  },
  {
    name: 'disconnect_edge',
    description: 'Drop a connected edge (fails when that edge is not connected).',
    requires_role: 'admin',
    params: Joi.object({ edge_id: edgeId }),
    timeout_ms: RELAY_COMMAND_TIMEOUT_MS,
    mutates: true
  },
  {
    name: 'close_tunnel',
    description: 'Close an active tunnel (fails when the tunnel is unknown).',
    requires_role: 'admin',
    params: Joi.object({ tunnel_id: tunnelId }),
    timeout_ms: RELAY_COMMAND_TIMEOUT_MS,
    mutates: true
  },
  {
    name: 'close_udp_session',
    description: 'Close a native-UDP relay session (fails when the session is unknown).',
    requires_role: 'admin',
    params: Joi.object({ tunnel_id: tunnelId }),
    timeout_ms: RELAY_COMMAND_TIMEOUT_MS,
    mutates: true
  },
  {
    name: 'authorize_tunnel',
    description: 'Authorize a tunnel with its ingress and egress bind tokens.',
    requires_role: 'admin',
    params: Joi.object({
      tunnel_id: tunnelId,
      ingress_token: bindToken.description('HMAC-SHA256 bind token of the ingress leg (hex)'),
      egress_token: bindToken.description('HMAC-SHA256 bind token of the egress leg (hex)')
    }),
    timeout_ms: RELAY_COMMAND_TIMEOUT_MS,
    mutates: true
  },
  {
    name: 'revoke_tunnel',
    description: "Revoke a tunnel's authorization.",
    requires_role: 'admin',
    params: Joi.object({ tunnel_id: tunnelId }),
    timeout_ms: RELAY_COMMAND_TIMEOUT_MS,
    mutates: true
  },
  {
    name: 'configure_distribution',
    description: 'Configure viewer distribution (token secret, token requirements, public addresses, cascade sources); persisted by the relay.',
    requires_role: 'admin',
    params: Joi.object({
      token_secret: Joi.string()
        .pattern(/^[0-9a-fA-F]{64}$/)
        .messages({ 'string.pattern.base': '{{#label}} must be 64 hex characters' })
        .description('Viewer/ingest token signing secret (64 hex characters)'),
      require_viewer_token: Joi.boolean().description('Require a signed token from viewers'),
      require_ingest_token: Joi.boolean().description('Require a signed token for ingest'),
      public_ip: Joi.string().ip({ cidr: 'forbidden' }).description('Public IP address of the relay'),
      public_base_url: Joi.string()
        .uri({ scheme: ['http', 'https'] })
        .max(2048)
        .description('Public base URL viewers use (http or https)'),
      cascade_sources: Joi.array().items(cascadeSource).max(64).description('Upstream sources this relay cascades from')
    })
      .min(1)
      .messages({ 'object.min': '{{#label}} must set at least one distribution field' }),
    timeout_ms: RELAY_COMMAND_TIMEOUT_MS,
    mutates: true
  },
  {
    name: 'rotate_secret',
    description: 'Replace the node secret the relay authenticates with.',
    requires_role: 'admin',
    params: Joi.object({
      new_secret: Joi.string().min(16).max(512).pattern(/^\S+$/).required().description('New node secret')
    }),
    timeout_ms: RELAY_COMMAND_TIMEOUT_MS,
    mutates: true
  }
];
