import fs from 'node:fs';
import path from 'node:path';
import { apiError, boundContext } from '@bilbycast/core';
import Inert from '@hapi/inert';
import Joi from 'joi';
import type { Plugin, Request, ResponseToolkit } from '@hapi/hapi';

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { name: string; version: string };

/** Where `vite build` writes the UI (see web/vite.config.mts). */
export const WEB_ROOT = path.join(__dirname, '..', 'dist', 'web');

/** Paths that belong to the API and never fall back to the UI's index.html. */
const NOT_UI = /^\/(api|ws|documentation|openapi\.json|health)(\/|$)/;

const publicAccess = { bilbycast: { access: 'public' as const } };

/** What the UI routes are bound to (`server.bind` in the plugin's register). */
interface UiRouteContext {
  /** The built UI's directory. */
  root: string;
  /** Its `index.html`, served for every page path. */
  indexFile: string;
}

function contextOf(h: ResponseToolkit): UiRouteContext {
  return boundContext<UiRouteContext>(h, 'ui');
}

/** `GET /{path*}`: a top-level static file, or index.html for any page path the API does not own. */
function serveUi(request: Request, h: ResponseToolkit) {
  if (NOT_UI.test(request.path)) throw apiError(404, 'not_found', 'Not Found');
  const { root, indexFile } = contextOf(h);
  const file = path.join(root, request.path);
  // Top-level static files (favicon…) as they are; everything else is a page of the app.
  if (request.path !== '/' && path.dirname(file) === root && fs.existsSync(file) && fs.statSync(file).isFile()) return h.file(file, { confine: root });
  if (!fs.existsSync(indexFile)) {
    return h.response('The web UI is not built. Run `npm run build:ui` (npm start does it when it is missing).\n').type('text/plain').code(503);
  }
  return h.file(indexFile, { confine: false }).header('Cache-Control', 'no-cache');
}

/**
 * Serves the operator web UI at `/`: hashed assets under `/assets` (cached for a year), and
 * `index.html` for every other path the API does not own, so that deep links such as
 * `/nodes/<id>` load the app (which then asks the API and sends signed-out users to
 * `/login?next=…`). The page loads only same-origin scripts and styles, so it runs under the
 * auth plugin's strict CSP.
 */
export const plugin: Plugin<{ root?: string }> = {
  name: pkg.name,
  version: pkg.version,
  async register(server, options) {
    const root = options?.root ?? WEB_ROOT;
    await server.register(Inert, { once: true });
    const indexFile = path.join(root, 'index.html');
    server.bind({ root, indexFile } satisfies UiRouteContext);

    server.route([
      {
        method: 'GET',
        path: '/assets/{file*}',
        options: {
          plugins: publicAccess,
          description: 'UI assets (content-hashed)',
          // Vite's file names: a bounded flat name, so no traversal and no over-long paths.
          validate: {
            params: Joi.object({
              file: Joi.string()
                .pattern(/^[\w.-]{1,200}$/)
                .required()
            })
          },
          handler: { directory: { path: path.join(root, 'assets'), redirectToSlash: false, index: false } },
          cache: { expiresIn: 365 * 24 * 3600 * 1000, privacy: 'public' }
        }
      },
      {
        method: 'GET',
        path: '/{path*}',
        options: {
          plugins: publicAccess,
          description: 'The web UI (index.html for every page path)',
          handler: serveUi
        }
      }
    ]);
  }
};

export default plugin;
