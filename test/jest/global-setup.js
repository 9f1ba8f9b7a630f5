// Runs once before all test files: provides a MariaDB server unless the run is SQLite-only.
const { startPrivateMariaDb } = require('./mariadb-server');

module.exports = async function globalSetup() {
  const databases = (process.env.BILBYCAST_TEST_DATABASES || 'sqlite,mysql').split(',').map((s) => s.trim());
  process.env.BILBYCAST_TEST_DATABASES = databases.join(',');
  if (!databases.includes('mysql') || process.env.BILBYCAST_TEST_MYSQL_URL) return;
  const handle = await startPrivateMariaDb();
  globalThis.__bilbycastMariaDb = handle;
  // Test workers inherit this environment.
  process.env.BILBYCAST_TEST_MYSQL_URL = handle.url;
};
