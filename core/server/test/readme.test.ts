import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_OPTIONS } from '../src';

describe('README configuration table', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'README.md'), 'utf8');

  it.each(Object.entries(CONFIG_OPTIONS))('documents option %s with its environment variable', (key, option) => {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${key}\` |`));
    expect(row).toBeDefined();
    expect(row).toContain(`\`${option.env}\``);
  });

  it('documents no option that does not exist', () => {
    const documented = readme
      .split('\n')
      .map((line) => /^\| `([a-z_]+)` \| `BILBYCAST_/.exec(line)?.[1])
      .filter((key): key is string => key !== undefined);
    expect(documented.sort()).toEqual(Object.keys(CONFIG_OPTIONS).sort());
  });
});
