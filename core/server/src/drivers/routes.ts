import type { Request, ServerRoute } from '@hapi/hapi';
import { describeDriver } from './registry';

function listDrivers(request: Request) {
  const { drivers } = request.server.manager;
  return {
    loaded: drivers.list().map(describeDriver),
    refused: drivers.refused.map((r) => ({ package: r.package, version: r.version ?? null, source: r.source, reason: r.reason }))
  };
}

/** `GET /api/v1/drivers` (admin): installed driver packages, and refused ones with the reason. */
export const driverRoutes: ServerRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/drivers',
    options: {
      tags: ['api', 'drivers'],
      description: 'Installed driver packages and refused drivers with reasons (admin)',
      plugins: { bilbycast: { access: { role: 'admin' } } },
      handler: listDrivers
    }
  }
];
