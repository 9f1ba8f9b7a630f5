import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signInAtOidcProvider, startOidcProvider, type OidcTestAccount, type OidcTestProvider } from '@bilbycast/tests';
import {
  constantTimeEqual,
  createAuthorizationRequest,
  discover,
  exchangeCode,
  OidcError,
  validateAuthorizationResponse,
  verifiedEmail,
  verifyIdToken,
  type ClientAuthMethod,
  type OidcDiscovery
} from '../src/services/oidc-client';

// Never contacted: signInAtOidcProvider stops at the provider's redirect to it.
const REDIRECT_URI = 'http://127.0.0.1:9/api/v1/auth/oidc/callback';
const SCOPES = ['email', 'profile', 'groups'];
const ALICE: OidcTestAccount = {
  sub: 'alice',
  email: 'alice@example.com',
  email_verified: true,
  name: 'Alice Operator',
  groups: ['ops', 'admins']
};
const BOB: OidcTestAccount = { sub: 'bob', email: 'bob@example.com', email_verified: false, name: 'Bob' };

let provider: OidcTestProvider;
let discovery: OidcDiscovery;

beforeAll(async () => {
  provider = await startOidcProvider({ redirectUris: [REDIRECT_URI], accounts: [ALICE, BOB] });
  discovery = await discover(provider.issuer);
});

afterAll(() => provider?.stop());

/** The OidcError code an action fails with (any other failure is rethrown). */
async function failureCode(action: () => unknown): Promise<string | undefined> {
  try {
    await action();
  } catch (error) {
    if (error instanceof OidcError) return error.code;
    throw error;
  }
  return undefined;
}

/** Browser login up to the callback: the secrets the route would keep, and the callback query. */
async function authorize(accountId: string, idp = provider, options: { consent?: boolean } = {}) {
  const idpDiscovery = await discover(idp.issuer);
  const request = createAuthorizationRequest({ discovery: idpDiscovery, clientId: idp.clientId, redirectUri: REDIRECT_URI, scopes: SCOPES });
  const callback = await signInAtOidcProvider(request.url, { accountId, ...options });
  return { idp, idpDiscovery, request, query: Object.fromEntries(callback.searchParams) };
}
type Authorization = Awaited<ReturnType<typeof authorize>>;

async function exchange(
  authorization: Authorization,
  overrides: { clientSecret?: string; codeVerifier?: string; authMethod?: ClientAuthMethod } = {}
) {
  const { idp, idpDiscovery, request, query } = authorization;
  return exchangeCode({
    discovery: idpDiscovery,
    clientId: idp.clientId,
    clientSecret: overrides.clientSecret ?? idp.clientSecret,
    redirectUri: REDIRECT_URI,
    code: validateAuthorizationResponse({ discovery: idpDiscovery, query, expectedState: request.state }),
    codeVerifier: overrides.codeVerifier ?? request.codeVerifier,
    authMethod: overrides.authMethod
  });
}

/** The whole callback: code exchange, then ID token verification with this login's nonce. */
async function complete(authorization: Authorization) {
  const { idp, idpDiscovery, request } = authorization;
  const tokens = await exchange(authorization);
  return verifyIdToken({ discovery: idpDiscovery, idToken: tokens.idToken, clientId: idp.clientId, nonce: request.nonce });
}

async function startServer(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('discover', () => {
  test('reads the provider metadata and caches it', async () => {
    expect(discovery).toEqual({
      issuer: provider.issuer,
      authorizationEndpoint: `${provider.issuer}/auth`,
      tokenEndpoint: `${provider.issuer}/token`,
      jwksUri: `${provider.issuer}/jwks`,
      userinfoEndpoint: `${provider.issuer}/me`,
      endSessionEndpoint: `${provider.issuer}/session/end`,
      idTokenSigningAlgs: ['RS256'],
      tokenEndpointAuthMethods: expect.arrayContaining(['client_secret_basic', 'client_secret_post']),
      issParameterSupported: true
    });
    expect(discover(provider.issuer)).toBe(discover(provider.issuer));
  });

  test('an issuer that differs from the document (here by a trailing slash) fails', async () => {
    expect(await failureCode(() => discover(`${provider.issuer}/`))).toBe('discovery_failed');
  });

  test('a URL that is not an OpenID Provider fails, and the failure is not cached', async () => {
    let document: unknown;
    const server = await startServer((request, response) => {
      if (document && request.url === '/.well-known/openid-configuration') {
        response.setHeader('content-type', 'application/json').end(JSON.stringify(document));
      } else {
        response.setHeader('content-type', 'text/html').end('<html><body>Welcome</body></html>');
      }
    });
    try {
      const valid = {
        issuer: server.url,
        authorization_endpoint: `${server.url}/authorize`,
        token_endpoint: `${server.url}/token`,
        jwks_uri: `${server.url}/keys`,
        response_types_supported: ['code']
      };
      expect(await failureCode(() => discover(server.url))).toBe('discovery_failed');
      for (const broken of [
        { ...valid, issuer: 'https://someone-else.example.com' },
        { ...valid, jwks_uri: undefined },
        { ...valid, token_endpoint: 'http://idp.example.com/token' },
        { ...valid, response_types_supported: ['id_token'] },
        { ...valid, id_token_signing_alg_values_supported: ['HS256', 'none'] }
      ]) {
        document = broken;
        expect(await failureCode(() => discover(server.url))).toBe('discovery_failed');
      }
      document = valid;
      await expect(discover(server.url)).resolves.toMatchObject({ jwksUri: `${server.url}/keys`, idTokenSigningAlgs: ['RS256'] });
    } finally {
      await server.close();
    }
  });

  test('an unreachable provider fails', async () => {
    const server = await startServer(() => undefined);
    await server.close();
    expect(await failureCode(() => discover(server.url))).toBe('discovery_failed');
  });

  test('plain http is refused unless the provider is on loopback', async () => {
    await expect(discover('http://idp.example.com')).rejects.toThrow(/https URL/);
  });
});

describe('createAuthorizationRequest', () => {
  test('asks for a code with PKCE S256, fresh state and nonce, and always the openid scope', () => {
    const first = createAuthorizationRequest({ discovery, clientId: 'manager', redirectUri: REDIRECT_URI, scopes: ['email', 'openid'] });
    const second = createAuthorizationRequest({ discovery, clientId: 'manager', redirectUri: REDIRECT_URI, scopes: [] });
    const url = new URL(first.url);
    expect(`${url.origin}${url.pathname}`).toBe(discovery.authorizationEndpoint);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'manager',
      redirect_uri: REDIRECT_URI,
      scope: 'openid email',
      state: first.state,
      nonce: first.nonce,
      code_challenge: crypto.createHash('sha256').update(first.codeVerifier).digest('base64url'),
      code_challenge_method: 'S256'
    });
    expect(first.codeVerifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set([first.state, first.nonce, first.codeVerifier, second.state, second.nonce, second.codeVerifier]).size).toBe(6);
    expect(new URL(second.url).searchParams.get('scope')).toBe('openid');
  });
});

describe('sign-in against a real OpenID Provider', () => {
  test('code exchange and ID token verification yield the account claims', async () => {
    const authorization = await authorize('alice');
    expect(authorization.query.iss).toBe(provider.issuer);
    const tokens = await exchange(authorization);
    expect(tokens).toMatchObject({ tokenType: 'Bearer', accessToken: expect.any(String), expiresIn: expect.any(Number) });

    const { nonce } = authorization.request;
    const claims = await verifyIdToken({ discovery, idToken: tokens.idToken, clientId: provider.clientId, nonce });
    expect(claims).toMatchObject({ ...ALICE, iss: provider.issuer, aud: provider.clientId, nonce });
    expect(verifiedEmail(claims)).toBe('alice@example.com');
  });

  test('an unverified email is surfaced in the claims and refused by verifiedEmail', async () => {
    const claims = await complete(await authorize('bob'));
    expect(claims).toMatchObject({ sub: 'bob', email: 'bob@example.com', email_verified: false });
    expect(await failureCode(() => verifiedEmail(claims))).toBe('email_not_verified');
    expect(await failureCode(() => verifiedEmail({ sub: 'carol', email_verified: true }))).toBe('email_not_verified');
  });

  test('an ID token issued for another login (wrong nonce) is refused', async () => {
    const authorization = await authorize('alice');
    const tokens = await exchange(authorization);
    const otherLogin = createAuthorizationRequest({ discovery, clientId: provider.clientId, redirectUri: REDIRECT_URI, scopes: [] });
    expect(
      await failureCode(() => verifyIdToken({ discovery, idToken: tokens.idToken, clientId: provider.clientId, nonce: otherLogin.nonce }))
    ).toBe('nonce_mismatch');
  });

  test('the provider refuses a wrong client secret, a wrong code verifier and a replayed code', async () => {
    const authorization = await authorize('alice');
    expect(await failureCode(() => exchange(authorization, { clientSecret: 'not-the-secret' }))).toBe('token_exchange_failed');
    await expect(exchange(authorization, { clientSecret: 'not-the-secret' })).rejects.toThrow(/401: invalid_client/);
    expect(await failureCode(() => exchange(authorization, { codeVerifier: crypto.randomBytes(32).toString('base64url') }))).toBe(
      'token_exchange_failed'
    );

    const fresh = await authorize('alice');
    await exchange(fresh);
    expect(await failureCode(() => exchange(fresh))).toBe('token_exchange_failed');
  });

  test('a cancelled consent and a request without PKCE end in authorization_failed', async () => {
    const denied = await authorize('alice', provider, { consent: false });
    expect(denied.query.error).toBe('access_denied');
    expect(await failureCode(() => exchange(denied))).toBe('authorization_failed');

    const request = createAuthorizationRequest({ discovery, clientId: provider.clientId, redirectUri: REDIRECT_URI, scopes: [] });
    const withoutPkce = new URL(request.url);
    withoutPkce.searchParams.delete('code_challenge');
    withoutPkce.searchParams.delete('code_challenge_method');
    const callback = await signInAtOidcProvider(withoutPkce.href, { accountId: 'alice' });
    const query = Object.fromEntries(callback.searchParams);
    expect(query.error).toBe('invalid_request');
    expect(await failureCode(() => validateAuthorizationResponse({ discovery, query, expectedState: request.state }))).toBe(
      'authorization_failed'
    );
  });

  test('client_secret_post sends the credentials in the body: chosen explicitly or from discovery', async () => {
    const postProvider = await startOidcProvider({
      redirectUris: [REDIRECT_URI],
      accounts: [ALICE],
      tokenEndpointAuthMethod: 'client_secret_post'
    });
    try {
      const wrongSecret = await authorize('alice', postProvider);
      expect(await failureCode(() => exchange(wrongSecret, { authMethod: 'client_secret_post', clientSecret: 'wrong' }))).toBe(
        'token_exchange_failed'
      );
      const explicit = await authorize('alice', postProvider);
      await expect(exchange(explicit, { authMethod: 'client_secret_post' })).resolves.toHaveProperty('idToken');

      const fromDiscovery = await authorize('alice', postProvider);
      fromDiscovery.idpDiscovery = { ...fromDiscovery.idpDiscovery, tokenEndpointAuthMethods: ['private_key_jwt', 'client_secret_post'] };
      await expect(complete(fromDiscovery)).resolves.toMatchObject({ sub: 'alice' });

      const unsupported = await authorize('alice', postProvider);
      unsupported.idpDiscovery = { ...unsupported.idpDiscovery, tokenEndpointAuthMethods: ['private_key_jwt'] };
      await expect(exchange(unsupported)).rejects.toThrow(/neither client_secret_basic nor client_secret_post/);
    } finally {
      await postProvider.stop();
    }
  });
});

describe('validateAuthorizationResponse', () => {
  const expectedState = 'state-kept-for-this-browser';
  const validate = (query: Record<string, unknown>) => validateAuthorizationResponse({ discovery, query, expectedState });

  test('returns the code of a matching response', () => {
    expect(validate({ code: 'the-code', state: expectedState, iss: provider.issuer })).toBe('the-code');
  });

  test('a forged, missing or repeated state is refused before anything else', async () => {
    for (const state of ['forged', undefined, [expectedState, expectedState], `${expectedState}x`]) {
      expect(await failureCode(() => validate({ code: 'c', state, iss: provider.issuer }))).toBe('state_mismatch');
    }
    expect(await failureCode(() => validate({ error: 'access_denied', state: 'forged' }))).toBe('state_mismatch');
  });

  test('a response from another issuer, or without iss from a provider that sends it, is refused', async () => {
    const forged = { code: 'c', state: expectedState, iss: 'https://attacker.example.com' };
    expect(await failureCode(() => validate(forged))).toBe('issuer_mismatch');
    expect(await failureCode(() => validate({ code: 'c', state: expectedState }))).toBe('issuer_mismatch');
  });

  test('an error or a missing code fails the authorization', async () => {
    const denied = { error: 'access_denied', error_description: 'no', state: expectedState, iss: provider.issuer };
    expect(() => validate(denied)).toThrow('the provider answered access_denied (no)');
    expect(await failureCode(() => validate({ state: expectedState, iss: provider.issuer }))).toBe('authorization_failed');
  });
});

describe('constantTimeEqual', () => {
  test('is true only for an equal string', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    for (const received of ['abd', 'ab', 'abcd', '', undefined, null, 123, ['abc']]) {
      expect(constantTimeEqual('abc', received)).toBe(false);
    }
    expect(constantTimeEqual('', '')).toBe(false);
  });
});

describe('verifyIdToken refuses', () => {
  const nonce = 'nonce-of-this-login';
  const now = () => Math.floor(Date.now() / 1000);

  /** An ID token signed RS256 by the provider's own key unless told otherwise. */
  async function mint(claims: Record<string, unknown>, header: { kid?: string; otherKey?: boolean } = {}): Promise<string> {
    const { SignJWT, generateKeyPair, importJWK } = await import('jose');
    const key = header.otherKey ? (await generateKeyPair('RS256')).privateKey : await importJWK(provider.signingKey, 'RS256');
    return new SignJWT({ iss: provider.issuer, aud: provider.clientId, sub: 'alice', nonce, iat: now(), exp: now() + 300, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: header.kid ?? provider.signingKey.kid })
      .sign(key);
  }
  const verify = (idToken: string) => verifyIdToken({ discovery, idToken, clientId: provider.clientId, nonce });

  test('nothing that the provider itself signed correctly', async () => {
    await expect(verify(await mint({ email: 'alice@example.com' }))).resolves.toMatchObject({ sub: 'alice' });
    // Within the 30 s clock tolerance.
    await expect(verify(await mint({ exp: now() - 10 }))).resolves.toMatchObject({ sub: 'alice' });
  });

  test.each<[string, () => Record<string, unknown>]>([
    ['another audience', () => ({ aud: 'another-client' })],
    ['several audiences without azp', () => ({ aud: [provider.clientId, 'another-client'] })],
    ['azp naming another client', () => ({ azp: 'another-client' })],
    ['another issuer', () => ({ iss: 'https://attacker.example.com' })],
    ['an expired token', () => ({ iat: now() - 600, exp: now() - 120 })],
    ['no sub', () => ({ sub: undefined })],
    ['a non-boolean email_verified', () => ({ email_verified: 'true' })],
    ['groups that are not strings', () => ({ groups: [1, 2] })]
  ])('%s', async (_case, claims) => {
    expect(await failureCode(async () => verify(await mint(claims())))).toBe('invalid_id_token');
  });

  test('a token signed by another key, under the provider key id or an unknown one', async () => {
    expect(await failureCode(async () => verify(await mint({}, { otherKey: true })))).toBe('invalid_id_token');
    expect(await failureCode(async () => verify(await mint({}, { otherKey: true, kid: 'rotated-key' })))).toBe('invalid_id_token');
  });

  test('a tampered signature or payload', async () => {
    const [header, payload, signature] = (await mint({})).split('.') as [string, string, string];
    const middle = signature.length >> 1;
    const flipped = `${signature.slice(0, middle)}${signature[middle] === 'A' ? 'B' : 'A'}${signature.slice(middle + 1)}`;
    expect(await failureCode(() => verify(`${header}.${payload}.${flipped}`))).toBe('invalid_id_token');

    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url');
    expect(await failureCode(() => verify(`${header}.${forged}.${signature}`))).toBe('invalid_id_token');
  });

  test('symmetric and unsigned tokens', async () => {
    const { SignJWT } = await import('jose');
    const claims = { iss: provider.issuer, aud: provider.clientId, sub: 'alice', nonce, iat: now(), exp: now() + 300 };
    const hs256 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(provider.clientSecret));
    expect(await failureCode(() => verify(hs256))).toBe('invalid_id_token');

    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    expect(await failureCode(() => verify(`${encode({ alg: 'none' })}.${encode(claims)}.`))).toBe('invalid_id_token');
  });
});
