// One root command runs every package's tests (see jest.preset.js for the shared settings).
const fs = require('node:fs');
const path = require('node:path');
const preset = require('./jest.preset');

const groups = ['core', 'plugins', 'drivers', 'examples'];
const packageDirs = [...groups.flatMap((group) => (fs.existsSync(group) ? fs.readdirSync(group).map((name) => path.join(group, name)) : [])), 'test'].filter(
  (dir) => fs.existsSync(path.join(__dirname, dir, 'test'))
);

module.exports = {
  // Per-project testTimeout is ignored by jest; this is the one that applies.
  testTimeout: 30000,
  globalSetup: '<rootDir>/test/jest/global-setup.js',
  globalTeardown: '<rootDir>/test/jest/global-teardown.js',
  projects: packageDirs.map((dir) => ({ ...preset, displayName: dir, rootDir: path.join(__dirname, dir) }))
};
