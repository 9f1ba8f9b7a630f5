'use strict';
/**
 * The baseline: a bare `ws` server on a plain Node HTTP server, set up as the manager's
 * WebSocket router sets up `/ws/node` (noServer, no compression, same maxPayload). It answers
 * each connection's first frame with `auth_ok` (so simulated devices go online and start their
 * timers) and otherwise only JSON-parses every message it receives and counts it. No
 * database, no routing, no per-node state: the floor any ingest path pays in Node.
 *
 * Run as a child process with an IPC channel: prints nothing; sends {type:'listening', port},
 * answers {id, cmd:'count'} with {id, received, parsed, bytes, clients} and exits on {cmd:'stop'}.
 */
const http = require('node:http');
const { WebSocketServer } = require('ws');

const MAX_PAYLOAD = 16 * 1024 * 1024; // the manager's /ws/node default: 2 × 8 MiB

let received = 0;
let parsed = 0;
let bytes = 0;

const server = http.createServer((_req, res) => {
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD });

server.on('upgrade', (request, socket, head) => {
  if (request.url !== '/ws/node') {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(request, socket, head, (ws) => {
    let authed = false;
    ws.on('message', (data, isBinary) => {
      received++;
      if (isBinary) return;
      bytes += data.length;
      let message;
      try {
        message = JSON.parse(data.toString('utf8'));
        parsed++;
      } catch {
        return;
      }
      if (!authed && message && message.type === 'auth') {
        authed = true;
        ws.send(JSON.stringify({ type: 'auth_ok', timestamp: new Date().toISOString(), payload: {} }));
      }
    });
    ws.on('error', () => {});
  });
});

server.listen(Number(process.env.BENCH_PORT || 0), '127.0.0.1', () => {
  // --profile: the bench profiles the baseline's window as well, through this inspector.
  let inspector_url;
  if (process.env.BENCH_INSPECT === '1') {
    const inspector = require('node:inspector');
    inspector.open(0, '127.0.0.1');
    inspector_url = inspector.url();
  }
  process.send({ type: 'listening', port: server.address().port, inspector_url });
});

process.on('message', (msg) => {
  if (msg.cmd === 'count') process.send({ id: msg.id, received, parsed, bytes, clients: wss.clients.size });
  if (msg.cmd === 'stop') {
    for (const ws of wss.clients) ws.terminate();
    server.close();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
