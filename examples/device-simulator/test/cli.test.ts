import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../src/cli';
import { createFleet } from '../src';
import { type Peer, ScriptedManager } from './scripted-manager';

class Capture {
  text = '';
  write(chunk: string) {
    this.text += chunk;
    return true;
  }
}

async function cli(argv: string[]) {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runCli(argv, { stdout, stderr, signal: AbortSignal.abort() });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

let dir: string;
let manager: ScriptedManager;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bilbycast-sim-'));
  manager = await ScriptedManager.start();
});
afterEach(async () => {
  await manager.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('bilbycast-simulator arguments', () => {
  it.each([
    [['--edges', '1', '--tokens', 't'], /--url is required/],
    [['--url', 'http://x/ws/node', '--edges', '1', '--tokens', 't'], /ws:\/\/ or wss:\/\//],
    [['--url', 'ws://127.0.0.1:1/ws/node', '--edges', 'two', '--tokens', 't'], /--edges must be an integer/],
    [['--url', 'ws://127.0.0.1:1/ws/node'], /nothing to simulate/],
    [['--url', 'ws://127.0.0.1:1/ws/node', '--edges', '2', '--tokens', 't1'], /1 device\(s\) have neither saved credentials nor a registration token/],
    [['--url', 'ws://127.0.0.1:1/ws/node', '--edges', '1', '--tokens', 't', '--token-file', 'f'], /not both/],
    [['--url', 'ws://127.0.0.1:1/ws/node', '--edges', '1', '--tokens', 't', '--bogus'], /Unknown option '--bogus'/],
    [['--url', 'ws://127.0.0.1:1/ws/node', '--edges', '1', '--tokens', 't', '--stats-interval-ms', '0'], /--stats-interval-ms must be an integer ≥ 1/],
    [['--url', 'ws://127.0.0.1:1/ws/node', '--gateways', '1', '--token-file', '/nonexistent/tokens'], /cannot read --token-file/]
  ])('%j exits 2 with a clear message', async (argv, message) => {
    const result = await cli(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/^bilbycast-simulator: /);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(result.stdout).toBe('');
  });

  it('rejects a malformed credentials file with exit 2', async () => {
    const file = path.join(dir, 'creds.json');
    fs.writeFileSync(file, JSON.stringify({ devices: [{ kind: 'edge', name: 'edge-1' }] }));
    const result = await cli(['--url', manager.url, '--edges', '1', '--credentials', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/devices\[0\] needs kind/);
  });

  it('--help prints the usage and exits 0', async () => {
    const result = await cli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--credentials FILE');
  });
});

describe('bilbycast-simulator run', () => {
  /** Runs the CLI until `until` resolves, then stops it like SIGINT would. */
  async function run(argv: string[], until: (peers: Peer[]) => Promise<void>, count: number) {
    const controller = new AbortController();
    const stdout = new Capture();
    const stderr = new Capture();
    const done = runCli(argv, { stdout, stderr, signal: controller.signal });
    const peers: Peer[] = [];
    for (let i = 0; i < count; i++) peers.push(await manager.nextPeer());
    await until(peers);
    controller.abort();
    expect(await done).toBe(0);
    expect(stderr.text).toBe('');
    return { peers, stdout: stdout.text };
  }

  it('hands tokens out in order, saves credentials (mode 0600) and reconnects with them next time', async () => {
    const file = path.join(dir, 'creds.json');
    const tokens = path.join(dir, 'tokens.txt');
    fs.writeFileSync(tokens, '# fleet tokens\ntok-edge\n\ntok-relay\n');
    const first = await run(
      ['--url', manager.url, '--edges', '1', '--relays', '1', '--token-file', tokens, '--stats-interval-ms', '50'],
      async (peers) => {
        for (const peer of peers) {
          const auth = await peer.takeType('auth');
          const kind = auth.payload.software_version === '0.106.0' ? 'edge' : 'relay';
          expect(auth.payload.registration_token).toBe(`tok-${kind}`);
          peer.send({ type: 'register_ack', payload: { node_id: `id-${kind}`, node_secret: `secret-${kind}` } });
          await peer.takeType('stats');
        }
      },
      2
    );
    expect(first.stdout).toMatch(/edge-1 registered as id-edge/);
    expect(first.stdout).toMatch(/relay-1 online/);
    expect(first.stdout).toMatch(/online 0\/2/); // the final summary after stopping

    // Without --credentials nothing is written; with it, the run above is retried.
    expect(fs.existsSync(file)).toBe(false);
    const second = await run(
      ['--url', manager.url, '--edges', '1', '--tokens', 'tok-new', '--credentials', file, '--quiet'],
      async ([peer]) => {
        await peer.authenticate({ type: 'register_ack', payload: { node_id: 'id-edge', node_secret: 'secret-edge' } });
        await peer.takeType('stats');
      },
      1
    );
    expect(second.stdout).not.toMatch(/registered/); // --quiet
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ devices: [{ kind: 'edge', name: 'edge-1', node_id: 'id-edge', node_secret: 'secret-edge' }] });

    // The next run needs no token: edge-1 resumes with its saved credentials, edge-2 takes the token.
    await run(
      ['--url', manager.url, '--edges', '2', '--tokens', 'tok-2', '--credentials', file, '--quiet'],
      async (peers) => {
        const auths = await Promise.all(peers.map((peer) => peer.takeType('auth')));
        const resumedIndex = auths.findIndex((a) => a.payload.node_id !== undefined);
        expect(auths[resumedIndex].payload).toEqual({ node_id: 'id-edge', node_secret: 'secret-edge', software_version: '0.106.0', protocol_version: 4 });
        expect(auths[1 - resumedIndex].payload).toMatchObject({ registration_token: 'tok-2' });
        // A secret rotation is saved too.
        const resumed = peers[resumedIndex];
        resumed.send({ type: 'auth_ok' });
        await resumed.takeType('stats');
        resumed.command({ type: 'rotate_secret', new_secret: 'rotated-secret-123456' }, 'rot-1');
        await resumed.ack('rot-1');
      },
      2
    );
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).devices).toEqual([
      { kind: 'edge', name: 'edge-1', node_id: 'id-edge', node_secret: 'rotated-secret-123456' }
    ]);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe('createFleet', () => {
  it('starts every device, waits for all online and stops them all', async () => {
    const fleet = createFleet({
      url: manager.url,
      ramp_ms: 40,
      devices: [
        { kind: 'edge', credentials: { node_id: 'a', node_secret: 'a' } },
        { kind: 'relay', credentials: { node_id: 'b', node_secret: 'b' } },
        { kind: 'gateway', credentials: { node_id: 'c', node_secret: 'c' } }
      ]
    });
    fleet.start();
    const peers: Peer[] = [];
    for (let i = 0; i < 3; i++) {
      const peer = await manager.nextPeer();
      peers.push(peer);
      if (i < 2) await peer.authenticate();
    }
    await expect(fleet.waitAllOnline(200)).rejects.toThrow(/2\/3 devices online/);
    await peers[2].authenticate();
    await fleet.waitAllOnline(5000);
    await fleet.stop();
    expect(fleet.devices.map((d) => d.state)).toEqual(['stopped', 'stopped', 'stopped']);
    expect(await Promise.all(peers.map((p) => p.closed))).toEqual([1005, 1005, 1005]);
  });
});
