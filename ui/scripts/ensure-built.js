#!/usr/bin/env node
// Builds the web UI when ui/dist/web is missing (npm start, the browser tests); a no-op otherwise.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const index = path.join(__dirname, '..', 'dist', 'web', 'index.html');
if (fs.existsSync(index) && !process.argv.includes('--force')) process.exit(0);
execFileSync(process.execPath, [path.join(path.dirname(require.resolve('vite/package.json')), 'bin', 'vite.js'), 'build', '--config', 'web/vite.config.mts'], {
  cwd: path.join(__dirname, '..'),
  stdio: 'inherit'
});
