// The parts of @hapi/cookie and @hapi/crumb this plugin uses (neither ships type declarations).
declare module '@hapi/cookie' {
  import type { Plugin } from '@hapi/hapi';
  const plugin: Plugin<void>;
  export default plugin;
}

declare module '@hapi/crumb' {
  import type { Plugin } from '@hapi/hapi';
  const plugin: Plugin<Record<string, unknown>>;
  export default plugin;
}
