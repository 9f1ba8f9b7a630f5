import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import type { KnexClientInfo } from '../database/table-list';

const DB_CHECK_TIMEOUT_MS = 2000;

const healthResponse = Joi.object({
  status: Joi.string().valid('ok', 'error').required(),
  version: Joi.string().required(),
  uptime_secs: Joi.number().integer().required(),
  db: Joi.string().valid('ok', 'error').required()
}).label('Health');

async function checkHealth(request: Request, h: ResponseToolkit) {
  const { db, version, startedAt } = request.server.manager;
  const dbOk = await db
    .raw('select 1')
    .timeout(DB_CHECK_TIMEOUT_MS, { cancel: (db.client as KnexClientInfo).config.client === 'mysql2' })
    .then(
      () => true,
      () => false
    );
  const body = {
    status: dbOk ? 'ok' : 'error',
    version,
    uptime_secs: Math.floor((Date.now() - startedAt) / 1000),
    db: dbOk ? 'ok' : 'error'
  };
  return h.response(body).code(dbOk ? 200 : 503);
}

/** `GET /health` (public): 200 when the database answers, 503 while it does not. */
export const healthRoutes: ServerRoute[] = [
  {
    method: 'GET',
    path: '/health',
    options: {
      auth: false,
      tags: ['api', 'health'],
      description: 'Liveness and database reachability (no authentication)',
      plugins: { bilbycast: { access: 'public' } },
      response: { status: { 200: healthResponse, 503: healthResponse } },
      handler: checkHealth
    }
  }
];
