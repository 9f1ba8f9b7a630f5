import { createTestDatabase, testConfig } from '@bilbycast/tests';
import { createManager } from '../src';

describe('API documentation', () => {
  it('serves an OpenAPI 3 document generated from the routes and browsable docs', async () => {
    const database = await createTestDatabase('sqlite');
    const manager = await createManager({ config: testConfig(database) });
    await manager.initialize();

    const spec = await manager.server.inject('/openapi.json');
    expect(spec.statusCode).toBe(200);
    const doc = JSON.parse(spec.payload) as { openapi: string; info: { title: string }; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\.0/);
    expect(doc.info.title).toBe('bilbycast-manager API');
    expect(doc.paths['/health']).toHaveProperty('get');

    const docs = await manager.server.inject('/documentation');
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/text\/html/);
    expect(docs.payload).toMatch(/swagger/i);

    await manager.stop();
    await database.cleanup();
  });
});
