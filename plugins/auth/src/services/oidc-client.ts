import crypto from 'node:crypto';
import type { JWTPayload, JWTVerifyGetKey } from 'jose' with { 'resolution-mode': 'import' };

/**
 * The OpenID Connect pieces that @hapi/bell leaves to us (bell runs the authorization code
 * flow with PKCE and state, see routes/oidc.ts): the issuer's discovery document, which gives
 * bell its endpoints, and the verification of the ID token that bell brings back.
 */

export type OidcErrorCode = 'discovery_failed' | 'invalid_id_token' | 'nonce_mismatch' | 'email_not_verified';

/** Every failure of discovery and ID token verification; message is for logs (it may carry the provider's error text). */
export class OidcError extends Error {
  override readonly name = 'OidcError';

  constructor(
    readonly code: OidcErrorCode,
    message: string,
    options?: { cause?: unknown }
  ) {
    super(message, options);
  }
}

export interface OidcDiscovery {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
  /** The provider's ID token algorithms that this client accepts (asymmetric only). */
  idTokenSigningAlgs: string[];
}

export interface IdTokenClaims extends JWTPayload {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  groups?: string[];
}

const HTTP_TIMEOUT_MS = 10_000;
const DISCOVERY_TTL_MS = 60 * 60 * 1000;
const CLOCK_TOLERANCE_SECONDS = 30;
const ASYMMETRIC_ALGS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);

const discoveryCache = new Map<string, { expiresAt: number; discovery: Promise<OidcDiscovery> }>();
const jwksCache = new Map<string, JWTVerifyGetKey>();

/**
 * Fetches and validates the issuer's /.well-known/openid-configuration (cached for an hour;
 * failures are not cached). The document's issuer must equal the configured one exactly.
 */
export function discover(issuer: string): Promise<OidcDiscovery> {
  const cached = discoveryCache.get(issuer);
  if (cached && cached.expiresAt > Date.now()) return cached.discovery;
  const discovery = fetchDiscovery(issuer);
  discoveryCache.set(issuer, { expiresAt: Date.now() + DISCOVERY_TTL_MS, discovery });
  discovery.catch(() => {
    if (discoveryCache.get(issuer)?.discovery === discovery) discoveryCache.delete(issuer);
  });
  return discovery;
}

async function fetchDiscovery(issuer: string): Promise<OidcDiscovery> {
  const fail = (message: string, cause?: unknown) => new OidcError('discovery_failed', `OIDC discovery for ${issuer}: ${message}`, { cause });
  const issuerUrl = parseEndpoint(issuer);
  if (!issuerUrl || issuerUrl.search || issuerUrl.hash) throw fail('the issuer must be an https URL without query or fragment');

  const documentUrl = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let document: unknown;
  try {
    const response = await fetch(documentUrl, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS)
    });
    if (response.status !== 200) throw fail(`${documentUrl} answered ${response.status}`);
    document = await response.json();
  } catch (error) {
    throw error instanceof OidcError ? error : fail(`could not read ${documentUrl}: ${(error as Error).message}`, error);
  }
  if (!isRecord(document)) throw fail('the discovery document is not a JSON object');
  if (document.issuer !== issuer) throw fail(`the document names issuer ${JSON.stringify(document.issuer)}`);

  const endpoint = (name: string): string => {
    const value = document[name];
    if (typeof value !== 'string' || !parseEndpoint(value)) throw fail(`${name} is missing or not an https URL`);
    return value;
  };
  const stringList = (name: string, fallback: string[]): string[] => {
    const value = document[name];
    if (value === undefined) return fallback;
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw fail(`${name} is not a list of strings`);
    return value;
  };

  if (!stringList('response_types_supported', []).includes('code')) throw fail('the provider does not support response_type code');
  // The spec's default applies when the list is absent: RS256 ID tokens.
  const idTokenSigningAlgs = stringList('id_token_signing_alg_values_supported', ['RS256']).filter((alg) => ASYMMETRIC_ALGS.has(alg));
  if (idTokenSigningAlgs.length === 0) throw fail('the provider signs ID tokens with no asymmetric algorithm');

  return {
    issuer,
    authorizationEndpoint: endpoint('authorization_endpoint'),
    tokenEndpoint: endpoint('token_endpoint'),
    jwksUri: endpoint('jwks_uri'),
    idTokenSigningAlgs
  };
}

/** https, or http to this machine's loopback (a provider run for development or tests). */
function parseEndpoint(value: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const loopback = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/i.test(url.hostname);
  return url.protocol === 'https:' || (url.protocol === 'http:' && loopback) ? url : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Compares a secret with an untrusted value in constant time; false unless received is an equal string. */
function constantTimeEqual(expected: string, received: unknown): boolean {
  if (typeof received !== 'string' || expected.length === 0) return false;
  const digest = (value: string) => crypto.createHash('sha256').update(value).digest();
  return crypto.timingSafeEqual(digest(expected), digest(received));
}

/**
 * Verifies the ID token's signature against the provider's JWKS (refetched on an unknown
 * key id), its issuer, audience/azp, expiry and the login's nonce, and the types of the
 * claims this manager reads. email_verified is returned as is: see verifiedEmail.
 */
export async function verifyIdToken(input: { discovery: OidcDiscovery; idToken: string; clientId: string; nonce: string }): Promise<IdTokenClaims> {
  const { discovery, clientId } = input;
  const { createRemoteJWKSet, jwtVerify } = await import('jose');
  let keys = jwksCache.get(discovery.jwksUri);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(discovery.jwksUri), { timeoutDuration: HTTP_TIMEOUT_MS });
    jwksCache.set(discovery.jwksUri, keys);
  }

  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(input.idToken, keys, {
      issuer: discovery.issuer,
      audience: clientId,
      algorithms: discovery.idTokenSigningAlgs,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['sub', 'iat', 'exp']
    }));
  } catch (error) {
    throw new OidcError('invalid_id_token', `ID token rejected: ${(error as Error).message}`, { cause: error });
  }
  const invalid = (message: string) => new OidcError('invalid_id_token', `ID token rejected: ${message}`);
  // OIDC Core 3.1.3.7: with several audiences azp must name this client; if present it always must.
  if ((Array.isArray(claims.aud) && claims.aud.length > 1) || claims.azp !== undefined) {
    if (claims.azp !== clientId) throw invalid('azp does not name this client');
  }
  if (!constantTimeEqual(input.nonce, claims.nonce)) {
    throw new OidcError('nonce_mismatch', 'the ID token nonce does not match this login');
  }
  if (typeof claims.sub !== 'string' || claims.sub === '') throw invalid('sub is not a string');
  // OIDC Core 2: at most 255 ASCII characters (and the identities table holds no more).
  if (claims.sub.length > 255) throw invalid('sub is longer than 255 characters');
  for (const name of ['email', 'name'] as const) {
    if (claims[name] !== undefined && typeof claims[name] !== 'string') throw invalid(`${name} is not a string`);
  }
  if (claims.email_verified !== undefined && typeof claims.email_verified !== 'boolean') {
    throw invalid('email_verified is not a boolean');
  }
  if (claims.groups !== undefined && !(Array.isArray(claims.groups) && claims.groups.every((g) => typeof g === 'string'))) {
    throw invalid('groups is not a list of strings');
  }
  return claims as IdTokenClaims;
}

/** The token's email, only if the provider asserts it was verified. */
export function verifiedEmail(claims: IdTokenClaims): string {
  if (claims.email === undefined || claims.email_verified !== true) {
    throw new OidcError('email_not_verified', `the provider has not verified an email address for ${claims.sub}`);
  }
  return claims.email;
}
