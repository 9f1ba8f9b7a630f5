'use strict';
/** The manager's REST API as the bench uses it: login (session cookie), an API token, nodes, commands. */
const http = require('node:http');

/** One keep-alive agent: command round trips must not pay a TCP connect each. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function request(base, method, path, { headers = {}, body } = {}) {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}${path}`,
      {
        method,
        agent,
        headers: { accept: 'application/json', ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}), ...headers }
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, headers: res.headers, json, text });
        });
        res.on('error', reject);
      }
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

class ManagerApi {
  constructor(base) {
    this.base = base;
    this.token = undefined;
    this.cookie = undefined;
    this.csrf = undefined;
  }

  async health() {
    const res = await request(this.base, 'GET', '/health');
    return res.status === 200;
  }

  async login(username, password) {
    const res = await request(this.base, 'POST', '/api/v1/auth/login', { body: { username, password } });
    if (res.status !== 200) throw new Error(`login: HTTP ${res.status} ${res.text.slice(0, 200)}`);
    const cookies = (res.headers['set-cookie'] || []).map((c) => c.split(';')[0]);
    this.cookie = cookies.join('; ');
    this.csrf = res.json.csrf_token;
    return this.cookie;
  }

  /** An API token (bearer, no CSRF): every later REST call uses it. Needs login() first. */
  async createToken(name) {
    const res = await request(this.base, 'POST', '/api/v1/auth/tokens', {
      headers: { cookie: this.cookie, 'x-csrf-token': this.csrf },
      body: { name }
    });
    if (res.status !== 200 && res.status !== 201) throw new Error(`create token: HTTP ${res.status} ${res.text.slice(0, 200)}`);
    this.token = res.json.token;
    return this.token;
  }

  call(method, path, body) {
    return request(this.base, method, path, { headers: { authorization: `Bearer ${this.token}` }, body });
  }

  async createNode(name) {
    const res = await this.call('POST', '/api/v1/nodes', { name, device_type: 'edge' });
    if (res.status !== 201) throw new Error(`create node ${name}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
    return { id: res.json.id, registration_token: res.json.registration_token };
  }

  async countOnline() {
    const res = await this.call('GET', '/api/v1/nodes?status=online');
    if (res.status !== 200) throw new Error(`list nodes: HTTP ${res.status}`);
    return res.json.length;
  }

  async nodeMessages(id) {
    const res = await this.call('GET', `/api/v1/nodes/${id}`);
    return res.json && res.json.connection ? res.json.connection.counters.messages : NaN;
  }
}

module.exports = { ManagerApi, request };
