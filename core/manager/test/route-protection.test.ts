import { routeAccess } from '@bilbycast/core';
import { createTestDatabase, testConfig } from '@bilbycast/tests';
import { createDefaultManager } from '../src';

// Walks every route of the standard build: each declares an access rule, and every route
// that is not public refuses an anonymous caller with 401 before doing anything else.
describe('route protection in the standard build', () => {
  it('has no unprotected route', async () => {
    const database = await createTestDatabase('sqlite');
    const manager = await createDefaultManager(testConfig(database));
    await manager.initialize();

    const routes = manager.server.table();
    expect(routes.length).toBeGreaterThan(10);
    const undeclared = routes.filter((r) => routeAccess(r) === undefined).map((r) => `${r.method} ${r.path}`);
    expect(undeclared).toEqual([]);

    const protectedRoutes = routes.filter((r) => routeAccess(r) !== 'public');
    expect(protectedRoutes.length).toBeGreaterThan(5);
    for (const route of protectedRoutes) {
      const url = route.path.replace(/\{[^}]+\}/g, '8a6e0804-2bd0-4672-b79d-d97027f9071b');
      const res = await manager.server.inject({ method: route.method, url, payload: route.method === 'get' ? undefined : {} });
      expect({ route: `${route.method} ${route.path}`, status: res.statusCode }).toEqual({ route: `${route.method} ${route.path}`, status: 401 });
    }
    await manager.stop();
    await database.cleanup();
  });
});
