import type { ServerRoute } from '@hapi/hapi';
import type { DriverRegistry } from './registry';

/** `GET /api/v1/drivers` (admin): installed driver packages, and refused ones with the reason. */
export function driverRoutes(drivers: DriverRegistry): ServerRoute[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/drivers',
      options: {
        tags: ['api', 'drivers'],
        description: 'Installed driver packages and refused drivers with reasons (admin)',
        plugins: { bilbycast: { access: { role: 'admin' } } },
        handler: () => ({
          loaded: drivers.list().map((d) => ({
            device_type: d.definition.device_type,
            display_name: d.definition.display_name,
            package: d.package,
            version: d.version,
            source: d.source,
            commands: d.definition.commands.map((c) => c.name)
          })),
          refused: drivers.refused.map((r) => ({ package: r.package, version: r.version ?? null, source: r.source, reason: r.reason }))
        })
      }
    }
  ];
}
