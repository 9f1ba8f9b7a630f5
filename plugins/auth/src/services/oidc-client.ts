import crypto from 'node:crypto';
import type { JWTPayload, JWTVerifyGetKey } from 'jose' with { 'resolution-mode': 'import' };

/**
 * OpenID Connect relying party: authorization code flow with PKCE (S256), state, nonce and
 * the RFC 9207 iss parameter. A login route calls createAuthorizationRequest, keeps state,
 * nonce and codeVerifier server-side (or sealed) for the browser, and on the callback calls
 * validateAuthorizationResponse, exchangeCode and verifyIdToken in that order.
 */

export type OidcErrorCode =
  | 'discovery_failed'
  | 'authorization_failed'
  | 'state_mismatch'
  | 'issuer_mismatch'
  | 'token_exchange_failed'
  | 'invalid_id_token'
  | 'nonce_mismatch'
  | 'email_not_verified';

/** Every failure of the flow; message is for logs (it may carry the provider's error text). */
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
  userinfoEndpoint?: string;
  endSessionEndpoint?: string;
  /** The provider's ID token algorithms that this client accepts (asymmetric only). */
  idTokenSigningAlgs: string[];
  tokenEndpointAuthMethods: string[];
  /** The provider promises iss on every authorization response (RFC 9207). */
  issParameterSupported: boolean;
}

export interface IdTokenClaims extends JWTPayload {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  groups?: string[];
}

export interface TokenResponse {
  idToken: string;
  accessToken: string;
  tokenType: string;
  expiresIn?: number;
  refreshToken?: string;
}

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

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
  const fail = (message: string, cause?: unknown) =>
    new OidcError('discovery_failed', `OIDC discovery for ${issuer}: ${message}`, { cause });
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

  const endpoint = (name: string, required: boolean): string | undefined => {
    const value = document[name];
    if (value === undefined && !required) return undefined;
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
  // The spec's defaults apply when a list is absent: RS256 ID tokens, client_secret_basic.
  const idTokenSigningAlgs = stringList('id_token_signing_alg_values_supported', ['RS256']).filter((alg) => ASYMMETRIC_ALGS.has(alg));
  if (idTokenSigningAlgs.length === 0) throw fail('the provider signs ID tokens with no asymmetric algorithm');

  return {
    issuer,
    authorizationEndpoint: endpoint('authorization_endpoint', true)!,
    tokenEndpoint: endpoint('token_endpoint', true)!,
    jwksUri: endpoint('jwks_uri', true)!,
    userinfoEndpoint: endpoint('userinfo_endpoint', false),
    endSessionEndpoint: endpoint('end_session_endpoint', false),
    idTokenSigningAlgs,
    tokenEndpointAuthMethods: stringList('token_endpoint_auth_methods_supported', ['client_secret_basic']),
    issParameterSupported: document.authorization_response_iss_parameter_supported === true
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

/**
 * The URL to send the browser to, and the secrets to keep for the callback: state (CSRF),
 * nonce (binds the ID token to this login) and the PKCE code verifier. openid is always requested.
 */
export function createAuthorizationRequest(input: {
  discovery: OidcDiscovery;
  clientId: string;
  redirectUri: string;
  scopes: string[];
}): { url: string; state: string; nonce: string; codeVerifier: string } {
  const state = randomToken();
  const nonce = randomToken();
  const codeVerifier = randomToken();
  const url = new URL(input.discovery.authorizationEndpoint);
  const params = {
    response_type: 'code',
    client_id: input.clientId,
    redirect_uri: input.redirectUri,
    scope: [...new Set(['openid', ...input.scopes])].join(' '),
    state,
    nonce,
    code_challenge: crypto.createHash('sha256').update(codeVerifier).digest('base64url'),
    code_challenge_method: 'S256'
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return { url: url.href, state, nonce, codeVerifier };
}

function randomToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/** Compares a secret with an untrusted value in constant time; false unless received is an equal string. */
export function constantTimeEqual(expected: string, received: unknown): boolean {
  if (typeof received !== 'string' || expected.length === 0) return false;
  const digest = (value: string) => crypto.createHash('sha256').update(value).digest();
  return crypto.timingSafeEqual(digest(expected), digest(received));
}

/**
 * Checks the callback's query (state, then iss, then error) and returns the authorization code.
 */
export function validateAuthorizationResponse(input: {
  discovery: OidcDiscovery;
  query: Record<string, unknown>;
  expectedState: string;
}): string {
  const { discovery, query } = input;
  if (!constantTimeEqual(input.expectedState, query.state)) {
    throw new OidcError('state_mismatch', 'the authorization response state does not match this login');
  }
  if (query.iss !== undefined ? query.iss !== discovery.issuer : discovery.issParameterSupported) {
    throw new OidcError('issuer_mismatch', `the authorization response came from issuer ${JSON.stringify(query.iss)}`);
  }
  if (query.error !== undefined) {
    const description = typeof query.error_description === 'string' ? ` (${query.error_description})` : '';
    throw new OidcError('authorization_failed', `the provider answered ${String(query.error)}${description}`);
  }
  if (typeof query.code !== 'string' || query.code === '') {
    throw new OidcError('authorization_failed', 'the authorization response has no code');
  }
  return query.code;
}

/**
 * Redeems the authorization code at the token endpoint. The client authenticates with
 * client_secret_basic when the provider supports it, else client_secret_post (or as told).
 */
export async function exchangeCode(input: {
  discovery: OidcDiscovery;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  code: string;
  codeVerifier: string;
  authMethod?: ClientAuthMethod;
}): Promise<TokenResponse> {
  const { discovery } = input;
  const fail = (message: string, cause?: unknown) =>
    new OidcError('token_exchange_failed', `token request to ${discovery.tokenEndpoint}: ${message}`, { cause });
  const authMethod =
    input.authMethod ??
    (['client_secret_basic', 'client_secret_post'] as const).find((m) => discovery.tokenEndpointAuthMethods.includes(m));
  if (!authMethod) throw fail('the provider supports neither client_secret_basic nor client_secret_post');

  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code: input.code,
    redirect_uri: input.redirectUri,
    code_verifier: input.codeVerifier
  });
  const headers: Record<string, string> = { accept: 'application/json' };
  if (authMethod === 'client_secret_basic') {
    // RFC 6749 §2.3.1: both parts are form-encoded before base64.
    const credentials = `${formEncode(input.clientId)}:${formEncode(input.clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  } else {
    body.set('client_id', input.clientId);
    body.set('client_secret', input.clientSecret);
  }

  let response: Response;
  let payload: unknown;
  try {
    response = await fetch(discovery.tokenEndpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    payload = await response.json().catch(() => undefined);
  } catch (error) {
    throw fail((error as Error).message, error);
  }
  if (!response.ok) {
    const detail = isRecord(payload) && typeof payload.error === 'string' ? `: ${payload.error}` : '';
    const description = isRecord(payload) && typeof payload.error_description === 'string' ? ` (${payload.error_description})` : '';
    throw fail(`answered ${response.status}${detail}${description}`);
  }
  if (!isRecord(payload) || typeof payload.id_token !== 'string' || typeof payload.access_token !== 'string') {
    throw fail('the response has no id_token or access_token');
  }
  return {
    idToken: payload.id_token,
    accessToken: payload.access_token,
    tokenType: typeof payload.token_type === 'string' ? payload.token_type : 'Bearer',
    expiresIn: typeof payload.expires_in === 'number' ? payload.expires_in : undefined,
    refreshToken: typeof payload.refresh_token === 'string' ? payload.refresh_token : undefined
  };
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/**
 * Verifies the ID token's signature against the provider's JWKS (refetched on an unknown
 * key id), its issuer, audience/azp, expiry and the login's nonce, and the types of the
 * claims this manager reads. email_verified is returned as is: see verifiedEmail.
 */
export async function verifyIdToken(input: {
  discovery: OidcDiscovery;
  idToken: string;
  clientId: string;
  nonce: string;
}): Promise<IdTokenClaims> {
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
