// Starts a throw-away MariaDB server for the test run from the Debian mariadb-server binaries:
// its own data dir, socket and loopback port, no system service touched.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const SERVER_BINARIES = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld', '/usr/bin/mariadbd'];
const INSTALL_DB = ['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db'];

function find(candidates) {
  return candidates.find((file) => fs.existsSync(file));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function startPrivateMariaDb() {
  const server = find(SERVER_BINARIES);
  const installDb = find(INSTALL_DB);
  if (!server || !installDb) {
    throw new Error(
      'The database tests need a MariaDB server: install it with `apt-get install -y mariadb-server`, ' +
        'point BILBYCAST_TEST_MYSQL_URL at an existing server, or run SQLite only with BILBYCAST_TEST_DATABASES=sqlite.'
    );
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bilbycast-test-mariadb-'));
  const dataDir = path.join(dir, 'data');
  const socket = path.join(dir, 'mariadb.sock');
  const asRoot = process.getuid && process.getuid() === 0 ? ['--user=root'] : [];
  const install = spawnSync(installDb, ['--no-defaults', `--datadir=${dataDir}`, '--auth-root-authentication-method=socket', '--skip-test-db', ...asRoot], {
    encoding: 'utf8'
  });
  if (install.status !== 0) throw new Error(`mariadb-install-db failed:\n${install.stdout}\n${install.stderr}`);

  const port = await freePort();
  const child = spawn(
    server,
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      `--socket=${socket}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--pid-file=${path.join(dir, 'mariadb.pid')}`,
      '--skip-log-bin',
      '--innodb-buffer-pool-size=128M',
      '--innodb-flush-log-at-trx-commit=2',
      '--max-connections=500',
      ...asRoot
    ],
    { stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'mariadb.err'), 'a')], detached: true }
  );
  child.unref();

  const mysql = require('mysql2/promise');
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const conn = await mysql.createConnection({ socketPath: socket, user: 'root' });
      await conn.query("CREATE USER IF NOT EXISTS 'bilbycast'@'127.0.0.1' IDENTIFIED BY 'bilbycast-test'");
      await conn.query("GRANT ALL PRIVILEGES ON *.* TO 'bilbycast'@'127.0.0.1'");
      await conn.end();
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        const log = fs.existsSync(path.join(dir, 'mariadb.err')) ? fs.readFileSync(path.join(dir, 'mariadb.err'), 'utf8') : '';
        throw new Error(`MariaDB did not start: ${err.message}\n${log.slice(-2000)}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { url: `mysql://bilbycast:bilbycast-test@127.0.0.1:${port}`, pid: child.pid, dir };
}

function stopPrivateMariaDb(handle) {
  try {
    process.kill(handle.pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      process.kill(handle.pid, 0);
    } catch {
      break;
    }
    spawnSync('sleep', ['0.1']);
  }
  fs.rmSync(handle.dir, { recursive: true, force: true });
}

module.exports = { startPrivateMariaDb, stopPrivateMariaDb };
