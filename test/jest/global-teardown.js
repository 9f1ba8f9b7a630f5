const { stopPrivateMariaDb } = require('./mariadb-server');

module.exports = async function globalTeardown() {
  if (globalThis.__bilbycastMariaDb) stopPrivateMariaDb(globalThis.__bilbycastMariaDb);
};
