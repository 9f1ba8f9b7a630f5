import { fork, type ChildProcess } from 'node:child_process';
import crypto, { type JsonWebKey } from 'node:crypto';
import path from 'node:path';

/** An end-user the test provider can sign in; every field but sub is released as a claim. */
export interface OidcTestAccount {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  groups?: string[];
}

export interface OidcTestProviderOptions {
  redirectUris: string[];
  accounts: OidcTestAccount[];
  clientId?: string;
  clientSecret?: string;
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
}

export interface OidcTestProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The private RS256 key (with kid) the provider signs ID tokens with, for minting tokens in tests. */
  signingKey: JsonWebKey & { kid: string };
  stop(): Promise<void>;
}

const SERVER_SCRIPT = path.join(__dirname, '..', 'jest', 'oidc-provider-server.mjs');
const START_TIMEOUT_MS = 15_000;

/**
 * Starts a real OpenID Provider (oidc-provider) in a child process on an ephemeral loopback
 * port: one confidential client, the given accounts, PKCE (S256) required, ID tokens signed
 * RS256, and the built-in development login/consent pages (drive them with signInAtOidcProvider).
 * Scopes openid, email, profile and groups release sub, email + email_verified, name and groups,
 * in the ID token itself.
 */
export async function startOidcProvider(options: OidcTestProviderOptions): Promise<OidcTestProvider> {
  const clientId = options.clientId ?? 'bilbycast-manager';
  const clientSecret = options.clientSecret ?? crypto.randomBytes(32).toString('base64url');
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };

  const child = fork(SERVER_SCRIPT, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: [] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-8_000);
  });
  const stop = () => stopChild(child);

  try {
    const issuer = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out')), START_TIMEOUT_MS);
      child.once('message', (message: { issuer?: string; error?: string }) => {
        clearTimeout(timer);
        if (message.issuer) resolve(message.issuer);
        else reject(new Error(message.error));
      });
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`exited (${signal ?? code})`));
      });
      child.send({
        client: {
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: options.redirectUris,
          token_endpoint_auth_method: options.tokenEndpointAuthMethod ?? 'client_secret_basic'
        },
        accounts: options.accounts,
        signingKey,
        cookieKeys: [crypto.randomBytes(32).toString('base64url')]
      });
    });
    return { issuer, clientId, clientSecret, signingKey, stop };
  } catch (error) {
    await stop();
    throw new Error(`OIDC test provider failed to start: ${(error as Error).message}\n${stderr}`, { cause: error });
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

export interface OidcSignInOptions {
  /** The sub of one of the provider's accounts. */
  accountId: string;
  /** false cancels at the consent page, so the provider answers error=access_denied. */
  consent?: boolean;
}

const MAX_STEPS = 20;

/**
 * The browser's part of an authorization-code login, over plain HTTP with its own cookie jar:
 * follows redirects from the authorization URL, submits the development login form for the
 * account and then the consent form. Returns the provider's final redirect to the
 * authorization URL's redirect_uri (carrying code, state and iss, or an error).
 */
export async function signInAtOidcProvider(authorizationUrl: string, options: OidcSignInOptions): Promise<URL> {
  const redirectUri = new URL(authorizationUrl).searchParams.get('redirect_uri');
  if (!redirectUri) throw new Error('the authorization URL has no redirect_uri');
  const jar = new CookieJar();

  let request: { url: URL; form?: URLSearchParams } = { url: new URL(authorizationUrl) };
  for (let step = 0; step < MAX_STEPS; step += 1) {
    const response = await fetch(request.url, {
      method: request.form ? 'POST' : 'GET',
      body: request.form,
      headers: { cookie: jar.header(request.url) },
      redirect: 'manual'
    });
    jar.store(response);

    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      const next = new URL(location, request.url);
      if (next.href.startsWith(redirectUri)) return next;
      request = { url: next };
      continue;
    }

    const html = await response.text();
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    const action = /<form[^>]* action="([^"]+)"/.exec(html)?.[1];
    if (response.status !== 200 || !prompt || !action) {
      throw new Error(`OIDC provider answered ${response.status} at ${request.url.pathname}: ${describeErrorPage(html)}`);
    }
    if (prompt === 'consent' && options.consent === false) {
      const cancel = /href="([^"]+)">\[ Cancel \]/.exec(html)?.[1];
      if (!cancel) throw new Error('the consent page has no cancel link');
      request = { url: new URL(unescapeHtml(cancel), request.url) };
      continue;
    }
    const form = new URLSearchParams({ prompt });
    if (prompt === 'login') {
      form.set('login', options.accountId);
      form.set('password', 'any');
    }
    request = { url: new URL(unescapeHtml(action), request.url), form };
  }
  throw new Error(`no redirect to ${redirectUri} after ${MAX_STEPS} requests`);
}

function describeErrorPage(html: string): string {
  const field = (name: string) => new RegExp(`<strong>${name}</strong>: ([^<]*)`).exec(html)?.[1];
  const error = field('error');
  return error ? `${error} (${field('error_description') ?? ''})` : html.slice(0, 300);
}

function unescapeHtml(text: string): string {
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" };
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_, entity: string) => entities[entity]);
}

/** Enough of a browser cookie store for one host: name + path, expiry by deletion. */
class CookieJar {
  readonly #cookies = new Map<string, { name: string; value: string; path: string }>();

  store(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = header.split(';').map((part) => part.trim());
      const separator = pair.indexOf('=');
      const name = pair.slice(0, separator);
      const value = pair.slice(separator + 1);
      const attribute = (key: string) => attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
      const cookiePath = attribute('path') ?? '/';
      const expires = attribute('expires');
      const expired = attribute('max-age') === '0' || (expires !== undefined && Date.parse(expires) <= Date.now());
      const key = `${cookiePath} ${name}`;
      if (expired) this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path: cookiePath });
    }
  }

  header(url: URL): string {
    return [...this.#cookies.values()]
      .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}
