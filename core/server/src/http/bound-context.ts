import type { ResponseToolkit } from '@hapi/hapi';

/**
 * What a plugin bound for its route handlers (`server.bind(context)` in its register), read in a
 * handler; a route added without the bind fails here, naming the plugin.
 */
export function boundContext<T extends object>(h: ResponseToolkit, plugin: string): T {
  if (!h.context) throw new Error(`${plugin} routes need the context the plugin binds (server.bind in register)`);
  return h.context as T;
}
