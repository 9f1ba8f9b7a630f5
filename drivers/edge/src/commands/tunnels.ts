import { tunnelConfigSchema, uuidSchema } from '../schemas';
import { command } from './common';

export const tunnelCommands = [
  command('create_tunnel', 'Create or replace (by id) a relay or direct tunnel', { tunnel: tunnelConfigSchema.required() }),
  command('delete_tunnel', 'Delete a tunnel (tolerates an already-gone tunnel)', {
    tunnel_id: uuidSchema.required().description('Tunnel id (UUID)')
  })
];
