import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startOidcProvider, type OidcTestProvider } from '@bilbycast/tests';
import { discover, OidcError, verifiedEmail, verifyIdToken, type OidcDiscovery } from '../src/services/oidc-client';

// A real OpenID Provider, for its discovery document and its JWKS; @hapi/bell runs the
// authorization code flow against it in oidc-sso.test.ts.
let provider: OidcTestProvider;
let discovery: OidcDiscovery;

beforeAll(async () => {
  provider = await startOidcProvider({ redirectUris: ['http://127.0.0.1:9/api/v1/auth/oidc/callback'], accounts: [] });
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

async function startServer(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('discover', () => {
  test('reads the provider metadata and caches it', () => {
    expect(discovery).toEqual({
      issuer: provider.issuer,
      authorizationEndpoint: `${provider.issuer}/auth`,
      tokenEndpoint: `${provider.issuer}/token`,
      jwksUri: `${provider.issuer}/jwks`,
      idTokenSigningAlgs: ['RS256']
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

describe('verifyIdToken', () => {
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

  test('returns the claims of a token the provider signed (through its discovered JWKS)', async () => {
    const claims = { email: 'alice@example.com', email_verified: true, name: 'Alice Operator', groups: ['ops', 'admins'] };
    await expect(verify(await mint(claims))).resolves.toMatchObject({
      ...claims,
      sub: 'alice',
      iss: provider.issuer,
      aud: provider.clientId,
      nonce
    });
    // Within the 30 s clock tolerance.
    await expect(verify(await mint({ exp: now() - 10 }))).resolves.toMatchObject({ sub: 'alice' });
    // Several audiences are accepted when azp names this client; so is a sub of exactly 255 characters.
    await expect(verify(await mint({ aud: [provider.clientId, 'another-client'], azp: provider.clientId }))).resolves.toMatchObject({
      azp: provider.clientId
    });
    await expect(verify(await mint({ azp: provider.clientId }))).resolves.toMatchObject({ sub: 'alice' });
    await expect(verify(await mint({ sub: 's'.repeat(255) }))).resolves.toMatchObject({ sub: 's'.repeat(255) });
  });

  test.each<[string, () => Record<string, unknown>]>([
    ['another audience', () => ({ aud: 'another-client' })],
    ['several audiences without azp', () => ({ aud: [provider.clientId, 'another-client'] })],
    ['azp naming another client', () => ({ azp: 'another-client' })],
    ['another issuer', () => ({ iss: 'https://attacker.example.com' })],
    ['an expired token', () => ({ iat: now() - 600, exp: now() - 120 })],
    ['no exp', () => ({ exp: undefined })],
    ['no iat', () => ({ iat: undefined })],
    ['no sub', () => ({ sub: undefined })],
    ['an empty sub', () => ({ sub: '' })],
    ['a sub longer than 255 characters', () => ({ sub: 's'.repeat(256) })],
    ['a non-string email', () => ({ email: ['alice@example.com'] })],
    ['a non-string name', () => ({ name: 42 })],
    ['a non-boolean email_verified', () => ({ email_verified: 'true' })],
    ['groups that are not strings', () => ({ groups: [1, 2] })],
    ['groups that are not a list', () => ({ groups: 'admins' })]
  ])('refuses %s', async (_case, claims) => {
    expect(await failureCode(async () => verify(await mint(claims())))).toBe('invalid_id_token');
  });

  test('refuses a token issued for another login: another, a missing or a repeated nonce', async () => {
    for (const other of ['nonce-of-another-login', `${nonce}x`, undefined, [nonce, nonce]]) {
      expect(await failureCode(async () => verify(await mint({ nonce: other })))).toBe('nonce_mismatch');
    }
    // A login that kept no nonce matches no token, not even one without a nonce.
    const idToken = await mint({ nonce: '' });
    expect(await failureCode(() => verifyIdToken({ discovery, idToken, clientId: provider.clientId, nonce: '' }))).toBe('nonce_mismatch');
  });

  test('refuses a token signed by another key, under the provider key id or an unknown one', async () => {
    expect(await failureCode(async () => verify(await mint({}, { otherKey: true })))).toBe('invalid_id_token');
    expect(await failureCode(async () => verify(await mint({}, { otherKey: true, kid: 'rotated-key' })))).toBe('invalid_id_token');
  });

  test('refuses a tampered signature or payload', async () => {
    const [header, payload, signature] = (await mint({})).split('.') as [string, string, string];
    const middle = signature.length >> 1;
    const flipped = `${signature.slice(0, middle)}${signature[middle] === 'A' ? 'B' : 'A'}${signature.slice(middle + 1)}`;
    expect(await failureCode(() => verify(`${header}.${payload}.${flipped}`))).toBe('invalid_id_token');

    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url');
    expect(await failureCode(() => verify(`${header}.${forged}.${signature}`))).toBe('invalid_id_token');
  });

  test('refuses symmetric and unsigned tokens', async () => {
    const { SignJWT } = await import('jose');
    const claims = { iss: provider.issuer, aud: provider.clientId, sub: 'alice', nonce, iat: now(), exp: now() + 300 };
    const hs256 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(provider.clientSecret));
    expect(await failureCode(() => verify(hs256))).toBe('invalid_id_token');

    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    expect(await failureCode(() => verify(`${encode({ alg: 'none' })}.${encode(claims)}.`))).toBe('invalid_id_token');
  });
});

describe('verifiedEmail', () => {
  test('returns the email only when the provider asserts it was verified', async () => {
    expect(verifiedEmail({ sub: 'alice', email: 'alice@example.com', email_verified: true })).toBe('alice@example.com');
    for (const claims of [
      { sub: 'bob', email: 'bob@example.com', email_verified: false },
      { sub: 'bob', email: 'bob@example.com' },
      { sub: 'carol', email_verified: true }
    ]) {
      expect(await failureCode(() => verifiedEmail(claims))).toBe('email_not_verified');
    }
  });
});
