// A real OpenID Provider (oidc-provider, ESM-only) for tests, run as a child process by
// test/src/oidc-provider-process.ts. It receives its configuration as the first IPC message,
// listens on an ephemeral loopback port and replies with { issuer }. It exits when the parent
// disconnects, so a crashed test run never leaves it behind.
import http from 'node:http';
import Provider from 'oidc-provider';

process.once('message', async (config) => {
  try {
    const server = http.createServer();
    await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${server.address().port}`;
    const accounts = new Map(config.accounts.map((account) => [account.sub, account]));

    const provider = new Provider(issuer, {
      clients: [config.client],
      jwks: { keys: [config.signingKey] },
      cookies: { keys: config.cookieKeys },
      pkce: { required: () => true },
      features: { devInteractions: { enabled: true } },
      // Scope → claims it releases. Claims go into the ID token itself (not only userinfo).
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
      conformIdTokenClaims: false,
      // Only the configured accounts can sign in: the dev login form's "login" is the sub.
      async findAccount(_ctx, sub) {
        const account = accounts.get(sub);
        return account && { accountId: sub, claims: async () => ({ ...account }) };
      }
    });
    server.on('request', provider.callback());
    process.send({ issuer });
  } catch (error) {
    process.send({ error: error instanceof Error ? error.stack : String(error) });
    process.exit(1);
  }
});

process.on('disconnect', () => process.exit(0));
