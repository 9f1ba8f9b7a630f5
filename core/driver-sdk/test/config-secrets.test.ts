import { REDACTED, describeDriverProblem, findRedacted, redactSecrets, resourceId, restoreSecrets } from '../src';

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
      inputs: [
        { id: 'Studio in 2', srt: { passphrase: REDACTED } },
        { id: 'in-1', passphrase: REDACTED },
        { passphrase: REDACTED },
        { id: 'no secret', passphrase: null }
      ],
      flows: [{ id: 'f', token: REDACTED, name: 'x' }]
    });
    expect(JSON.stringify(shown)).not.toMatch(/s3cret|first passphrase|second passphrase|anonymous item|"pw"|flow token/);
    expect(secrets.values.size).toBe(6);
  });

  test('restores secrets to the items they came from, located by id after a reorder, and reports placeholders it cannot place', () => {
    const { config: shown, secrets } = redactSecrets(config, EDGE_LIKE);
    const edited = structuredClone(shown) as typeof config;
    edited.inputs.reverse();
    edited.inputs.push({ id: 'new', passphrase: REDACTED });
    const { config: restored, unresolved } = restoreSecrets(edited, secrets);
    const inputs = (restored as typeof config).inputs;
    expect(inputs.find((i) => i.id === 'Studio in 2')).toEqual({ id: 'Studio in 2', srt: { passphrase: 'first passphrase' } });
    expect(inputs.find((i) => i.id === 'in-1')).toEqual({ id: 'in-1', passphrase: 'second passphrase' });
    expect((restored as typeof config).server.auth).toEqual({ user: 'admin', password: 'pw' });
    // The anonymous item is located by index, and the list changed length: not certain, so not restored.
    expect(unresolved).toEqual(['inputs[1].passphrase', 'inputs[id="new"].passphrase']);
  });

  test('items without an id get their secrets back only while the list keeps its length; duplicate ids are never trusted', () => {
    const paths = {
      paths: [
        { addr: 'a', key: 'KEY-A' },
        { addr: 'b', key: 'KEY-B' }
      ],
      outputs: [
        { id: 'x', key: 'X1' },
        { id: 'x', key: 'X2' }
      ]
    };
    const { config: shown, secrets } = redactSecrets(paths, ['**.key']);
    const same = restoreSecrets(structuredClone(shown), secrets);
    expect(same.config).toEqual({
      paths: paths.paths,
      outputs: [
        { id: 'x', key: 'X1' },
        { id: 'x', key: 'X2' }
      ]
    });
    expect(same.unresolved).toEqual([]);
    // The first path removed: the second must not inherit KEY-A.
    const removed = structuredClone(shown) as typeof paths;
    removed.paths.shift();
    expect(restoreSecrets(removed, secrets).unresolved).toEqual(['paths[0].key']);
    // A copy with the same id: neither is certain any more.
    const duplicated = structuredClone(shown) as typeof paths;
    duplicated.outputs = [duplicated.outputs[0]];
    duplicated.outputs.push({ ...duplicated.outputs[0] });
    duplicated.outputs.push({ id: 'x', key: REDACTED });
    expect(restoreSecrets(duplicated, secrets).unresolved).toEqual(['outputs[0].key', 'outputs[1].key', 'outputs[2].key']);
  });

  test('a hostile config: `__proto__` keys are kept as data, and depth is bounded', () => {
    const hostile = JSON.parse('{"__proto__":{"polluted":true},"a":{"passphrase":"p"}}');
    const { config: shown } = redactSecrets(hostile, ['**.passphrase']);
    expect(Object.keys(shown as object)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(shown)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // 5000 levels deep: walked to a bounded depth, the rest shown as one placeholder, and refused if sent back.
    let deep: unknown = { passphrase: 'deep secret' };
    for (let i = 0; i < 5000; i++) deep = { a: deep };
    const redacted = redactSecrets(deep, ['**.passphrase', '**.a.**.passphrase', '*.*.**.x']);
    expect(JSON.stringify(redacted.config)).not.toContain('deep secret');
    expect(restoreSecrets(deep, redacted.secrets).unresolved).toEqual([expect.stringMatching(/\(nested too deep to check\)$/)]);
  });

  test('a driver may not declare a path with two `**` in a row', () => {
    const driver = { device_type: 'x', display_name: 'X', commands: [], config_secrets: ['a.**.**.b'] };
    expect(describeDriverProblem(driver)).toMatch(/no repeated \*\*/);
    expect(describeDriverProblem({ ...driver, config_secrets: ['**.a.**.b', 'a.*.b'] })).toBeNull();
  });

  test('a changed value is kept as given; no declared paths means nothing redacted', () => {
    const { config: shown, secrets } = redactSecrets(config, EDGE_LIKE);
    const edited = structuredClone(shown) as typeof config;
    edited.manager.node_secret = 'typed anew';
    expect((restoreSecrets(edited, secrets).config as typeof config).manager.node_secret).toBe('typed anew');
    expect(redactSecrets(config, []).config).toEqual(config);
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
