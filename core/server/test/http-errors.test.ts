import { createTestDatabase, testConfig, type TestDatabase } from '@bilbycast/tests';
import type { Plugin } from '@hapi/hapi';
import Joi from 'joi';
import { apiError, createManager, type Manager } from '../src';

const probe: Plugin<unknown> = {
  name: 'error-probe',
  register(server) {
    server.route([
      {
        method: 'POST',
        path: '/api/v1/probe',
        options: {
          auth: false,
          plugins: { bilbycast: { access: 'public' } },
          validate: {
            payload: Joi.object({
              name: Joi.string().max(16).required(),
              count: Joi.number().integer().min(0).required(),
              tags: Joi.array().items(Joi.string()).max(3)
            })
          },
          handler: (request) => ({ ok: true, echo: request.payload })
        }
      },
      {
        method: 'GET',
        path: '/api/v1/probe/{id}',
        options: {
          auth: false,
          plugins: { bilbycast: { access: 'public' } },
          validate: { params: Joi.object({ id: Joi.string().guid().required() }) },
          handler: () => {
            throw apiError(422, 'device_failed', 'The device refused', { details: { reason: 'busy' } });
          }
        }
      }
    ]);
  }
};

describe('error responses', () => {
  let database: TestDatabase;
  let manager: Manager;
  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
    manager = await createManager({ config: testConfig(database), plugins: [probe] });
    await manager.initialize();
  });
  afterAll(async () => {
    await manager.stop();
    await database.cleanup();
  });

  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    manager.server.inject({ method: 'POST', url: '/api/v1/probe', payload: payload as object, headers });

  it('answers a joi failure with 400, a message naming each field and a field list', async () => {
    const res = await post({ name: 'x'.repeat(17), count: -1 });
    expect(res.statusCode).toBe(400);
    const body = res.result as Record<string, unknown>;
    expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request', error_code: 'validation_error', source: 'payload' });
    expect(body.message).toMatch(/"name" length must be less than or equal to 16/);
    expect(body.message).toMatch(/"count" must be greater than or equal to 0/);
    expect(body.errors).toEqual([
      expect.objectContaining({ path: 'name', type: 'string.max' }),
      expect.objectContaining({ path: 'count', type: 'number.min' })
    ]);
    expect(body).not.toHaveProperty('validation');
  });

  it('names a missing field and an unknown one', async () => {
    const res = await post({ count: 1, surprise: true });
    expect(res.statusCode).toBe(400);
    expect((res.result as { message: string }).message).toMatch(/"name" is required.*"surprise" is not allowed/);
  });

  it('validates path parameters too', async () => {
    const res = await manager.server.inject('/api/v1/probe/not-a-uuid');
    expect(res.statusCode).toBe(400);
    expect(res.result).toMatchObject({ error_code: 'validation_error', source: 'params' });
  });

  it('carries the error_code and extra fields of apiError()', async () => {
    const res = await manager.server.inject('/api/v1/probe/8a6e0804-2bd0-4672-b79d-d97027f9071b');
    expect(res.statusCode).toBe(422);
    expect(res.result).toEqual({
      statusCode: 422,
      error: 'Unprocessable Entity',
      message: 'The device refused',
      error_code: 'device_failed',
      details: { reason: 'busy' }
    });
  });

  it('answers an unknown /api route with a JSON 404', async () => {
    const res = await manager.server.inject('/api/v1/does-not-exist');
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.result).toMatchObject({ statusCode: 404, error_code: 'not_found' });
  });

  it('answers malformed JSON, a wrong content type and an oversize body with 4xx JSON', async () => {
    const broken = await post('{"name": "x",', { 'content-type': 'application/json' });
    expect(broken.statusCode).toBe(400);
    expect(broken.result).toMatchObject({ error_code: 'bad_request' });

    const wrongType = await post('<xml/>', { 'content-type': 'application/xml' });
    expect(wrongType.statusCode).toBe(415);
    expect(wrongType.result).toMatchObject({ error_code: 'unsupported_media_type' });

    const huge = await post(JSON.stringify({ name: 'a', count: 1, pad: 'x'.repeat(1_100_000) }), {
      'content-type': 'application/json'
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.result).toMatchObject({ error_code: 'payload_too_large' });

    // A body that claims gzip but is not: 4xx, and nothing of the decompressor's internals.
    const notGzip = await post('{"name":"x"}', { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(notGzip.statusCode).toBe(400);
    expect(Object.keys(notGzip.result as object).sort()).toEqual(['error', 'error_code', 'message', 'statusCode']);
  });

  it('never answers 500 to hostile input', async () => {
    const bodies: unknown[] = [
      null,
      [],
      'plain string',
      12,
      { name: { $gt: '' }, count: '1e309' },
      { name: '\u0000\ud83d\ude00\u202e', count: 1 },
      { name: 'a', count: Number.MAX_SAFE_INTEGER + 2 },
      { __proto__: { polluted: true }, name: 'a', count: 1 },
      { constructor: { prototype: { polluted: true } }, name: 'a', count: 1 },
      { name: 'a', count: 1, tags: Array.from({ length: 1000 }, () => 'x') }
    ];
    for (const body of bodies) {
      const res = await post(JSON.stringify(body), { 'content-type': 'application/json' });
      expect(res.statusCode).toBeGreaterThanOrEqual(200);
      expect(res.statusCode).toBeLessThan(500);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
