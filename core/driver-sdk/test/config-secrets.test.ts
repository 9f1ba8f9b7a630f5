import { REDACTED, findRedacted, redactSecrets, resourceId, restoreSecrets } from '../src';

const EDGE_LIKE = ['manager.node_secret', '**.passphrase', 'server.auth', 'flows.*.token'];

describe('config secrets', () => {
  const config = {
    version: 2,
    manager: { node_id: 'n1', node_secret: 's3cret' },
    server: { auth: { user: 'admin', password: 'pw' }, listen_addr: '0.0.0.0:8080' },
    inputs: [
      { id: 'Studio in 2', srt: { passphrase: 'first passphrase' } },
      { id: 'in-1', passphrase: 'second passphrase' },
      { passphrase: 'anonymous item' },
      { id: 'no secret', passphrase: null }
    ],
    flows: [{ id: 'f', token: 'flow token', name: 'x' }]
  };

  test('redacts every declared path (`*` one level, `**` any depth) without touching the input', () => {
    const copy = structuredClone(config);
    const { config: shown, secrets } = redactSecrets(config, EDGE_LIKE);
    expect(config).toEqual(copy);
    expect(shown).toEqual({
      version: 2,
      manager: { node_id: 'n1', node_secret: REDACTED },
      server: { auth: REDACTED, listen_addr: '0.0.0.0:8080' },
      inputs: [{ id: 'Studio in 2', srt: { passphrase: REDACTED } }, { id: 'in-1', passphrase: REDACTED }, { passphrase: REDACTED }, { id: 'no secret', passphrase: null }],
      flows: [{ id: 'f', token: REDACTED, name: 'x' }]
    });
    expect(JSON.stringify(shown)).not.toMatch(/s3cret|first passphrase|second passphrase|anonymous item|"pw"|flow token/);
    expect(secrets.size).toBe(6);
  });

  test('restores secrets to the items they came from, located by id after a reorder, and reports placeholders it cannot place', () => {
    const { config: shown, secrets } = redactSecrets(config, EDGE_LIKE);
    const edited = structuredClone(shown) as typeof config;
    edited.inputs.reverse();
    edited.inputs.push({ id: 'new', passphrase: REDACTED } as never);
    const { config: restored, unresolved } = restoreSecrets(edited, secrets);
    const inputs = (restored as typeof config).inputs;
    expect(inputs.find((i) => i.id === 'Studio in 2')).toEqual({ id: 'Studio in 2', srt: { passphrase: 'first passphrase' } });
    expect(inputs.find((i) => i.id === 'in-1')).toEqual({ id: 'in-1', passphrase: 'second passphrase' });
    expect((restored as typeof config).server.auth).toEqual({ user: 'admin', password: 'pw' });
    // The anonymous item moved from index 2 to 1: located by index, it cannot be found.
    expect(unresolved).toEqual(['inputs[1].passphrase', 'inputs[id="new"].passphrase']);
  });

  test('a changed value is kept as given; no declared paths means nothing redacted', () => {
    const { config: shown, secrets } = redactSecrets(config, EDGE_LIKE);
    const edited = structuredClone(shown) as typeof config;
    edited.manager.node_secret = 'typed anew';
    expect((restoreSecrets(edited, secrets).config as typeof config).manager.node_secret).toBe('typed anew');
    expect(redactSecrets(config, []).config).toBe(config);
    expect(findRedacted({ a: [{ b: REDACTED }], c: 'x' })).toEqual(['a[0].b']);
  });
});

describe('resourceId', () => {
  const id = resourceId(64);
  test.each(['Studio feed 2', 'Ü-Wagen', 'Cam-1 (backup)', 'a/b', 'x'.repeat(64), 'Ü'.repeat(32)])('accepts %j', (value) => {
    expect(id.validate(value).error).toBeUndefined();
  });
  test.each([
    ['', /not allowed to be empty/],
    ['x'.repeat(65), /at most 64 bytes/],
    ['Ü'.repeat(33), /at most 64 bytes/],
    ['tab\there', /control characters/],
    ['del\u007f', /control characters/],
    ['c1\u0085', /control characters/]
  ])('refuses %j', (value, message) => {
    expect(id.validate(value).error?.message).toMatch(message);
  });
});
