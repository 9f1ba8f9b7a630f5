import type { Request, ResponseToolkit, Server } from '@hapi/hapi';

/** Strict same-origin policy for the UI: no inline script, no framing, no third parties. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "form-action 'self'",
  "base-uri 'self'",
  "object-src 'none'"
].join('; ');

/**
 * Security headers on every response (errors included). The swagger UI page needs its own
 * inline bootstrap script, so only that page — the route hapi-swagger serves at exactly
 * `/documentation`, not any path that starts so — gets a CSP allowing it. HSTS goes with TLS,
 * and with each request a trusted proxy says it received over HTTPS.
 */
export function registerSecurityHeaders(server: Server, options: { tls: boolean }): void {
  server.ext('onPreResponse', (request: Request, h: ResponseToolkit) => {
    const response = request.response;
    const headers: Record<string, string> = {
      'Content-Security-Policy': isApiDocumentationPage(request)
        ? CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
        : CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin'
    };
    if (options.tls || request.forwardedHttps) headers['Strict-Transport-Security'] = 'max-age=63072000; includeSubDomains';
    const target = 'isBoom' in response && response.isBoom ? response.output.headers : null;
    for (const [name, value] of Object.entries(headers)) {
      if (target) target[name] = value;
      else (response as { header(n: string, v: string): unknown }).header(name, value);
    }
    return h.continue;
  });
}

function isApiDocumentationPage(request: Request): boolean {
  return request.route.realm.plugin === 'hapi-swagger' && request.route.path === '/documentation';
}
