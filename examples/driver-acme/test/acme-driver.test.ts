import fs from 'node:fs';
import path from 'node:path';
import { describeDriverProblem } from '@bilbycast/driver-sdk';
import { createManager } from '@bilbycast/core';
import { createTestDatabase, testConfig } from '@bilbycast/tests';
import driver from '../src';

const PACKAGE_DIR = path.join(__dirname, '..');

describe('ACME example driver', () => {
  it('conforms to the driver contract', () => {
    expect(describeDriverProblem(driver)).toBeNull();
  });

  it('validates command parameters with messages naming the field', () => {
    const setBitrate = driver.commands.find((c) => c.name === 'set_bitrate')!;
    expect(setBitrate.params.validate({ encoder_id: 'enc1', bitrate_kbps: 8000 }).error).toBeUndefined();
    expect(setBitrate.params.validate({ encoder_id: 'enc1', bitrate_kbps: 10 }).error?.message).toMatch(/"bitrate_kbps" must be greater than or equal to 100/);
    expect(setBitrate.params.validate({ encoder_id: 'x', bitrate_kbps: 8000 }).error?.message).toMatch(/"encoder_id"/);
    expect(driver.commands.find((c) => c.name === 'reboot')!.params.validate({ confirm: false }).error).toBeDefined();
  });

  it('summarises stats and tolerates any payload', () => {
    expect(
      driver.summarize!({
        encoders: [
          { id: 'enc1', running: true, bitrate_kbps: 8000 },
          { id: 'enc2', running: false }
        ],
        uptime_secs: 30
      })
    ).toEqual({
      flows_active: 1,
      flows_total: 2,
      bitrate_bps: 8_000_000,
      uptime_secs: 30,
      metrics: { encoders_running: 1 }
    });
    for (const junk of [null, 'x', 7, { encoders: 'no' }, { encoders: [null, 5] }]) expect(() => driver.summarize!(junk)).not.toThrow();
  });

  it('is discovered from <data_dir>/drivers like an operator-installed package', async () => {
    const database = await createTestDatabase('sqlite');
    const driversDir = path.join(database.dataDir, 'drivers');
    fs.mkdirSync(path.join(driversDir, 'node_modules'), { recursive: true });
    fs.writeFileSync(path.join(driversDir, 'package.json'), JSON.stringify({ private: true, dependencies: { 'bilbycast-driver-acme': '1.0.0' } }));
    fs.symlinkSync(PACKAGE_DIR, path.join(driversDir, 'node_modules', 'bilbycast-driver-acme'), 'dir');
    const manager = await createManager({ config: testConfig(database) });
    expect(manager.context.drivers.refused).toEqual([]);
    expect(manager.context.drivers.get('acme_encoder')).toMatchObject({ package: 'bilbycast-driver-acme', version: '1.0.0', source: 'data_dir' });
    await manager.context.db.destroy();
    await database.cleanup();
  });
});
