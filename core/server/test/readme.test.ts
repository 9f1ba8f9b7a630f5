import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_OPTIONS } from '../src';

describe('README configuration table', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'README.md'), 'utf8');

  // The table lists the standard build's options: the host's (checked here) and its plugins' (core/manager's test).
  it.each(Object.entries(CONFIG_OPTIONS))('documents option %s with its environment variable', (key, option) => {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${key}\` |`));
    expect(row).toBeDefined();
    expect(row).toContain(`\`${option.env}\``);
  });
});
