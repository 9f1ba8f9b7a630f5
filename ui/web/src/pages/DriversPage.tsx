import { useEffect, useState } from 'react';
import { api } from '../api/client';
import type { DeviceType } from '../api/types';
import { ErrorMessage } from '../components/ErrorMessage';
import { AdminOnly } from './admin/AdminOnly';
import { commandRole } from './node-detail/util';

interface LoadedDriver {
  device_type: string;
  display_name: string;
  package: string;
  version: string;
  source: string;
  commands: string[];
}

interface RefusedDriver {
  package: string;
  version: string | null;
  source: string;
  reason: string;
}

const SOURCE_LABEL: Record<string, string> = {
  builtin: 'built in',
  config: 'config',
  data_dir: 'installed (data dir)',
  integrator: 'integrator'
};

/** `/admin/drivers`: the driver packages this manager runs, the ones it refused and why, and each device type's commands. */
export function DriversPage() {
  return (
    <AdminOnly title="Drivers">
      <Drivers />
    </AdminOnly>
  );
}

function Drivers() {
  const [drivers, setDrivers] = useState<{ loaded: LoadedDriver[]; refused: RefusedDriver[] } | null>(null);
  const [types, setTypes] = useState<DeviceType[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    api.get<{ loaded: LoadedDriver[]; refused: RefusedDriver[] }>('/api/v1/drivers').then(setDrivers, setError);
    api.get<{ device_types: DeviceType[] }>('/api/v1/device-types').then((r) => setTypes(r.device_types), setError);
  }, []);

  return (
    <>
      <h1>Drivers</h1>
      <p className="muted">
        Each device type is handled by a driver package: it validates commands, sets the role each command needs and derives health. Drivers are added with{' '}
        <code>bilbycast-manager driver add</code> and load at start-up.
      </p>
      <ErrorMessage error={error} />
      <h2>Installed drivers</h2>
      {drivers === null ? (
        !error && <div className="loading">Loading drivers…</div>
      ) : drivers.loaded.length === 0 ? (
        <p className="empty">No drivers are loaded: no device type can be managed.</p>
      ) : (
        <div className="table-wrap">
          <table aria-label="Installed drivers">
            <thead>
              <tr>
                <th scope="col">Device type</th>
                <th scope="col">Display name</th>
                <th scope="col">Package</th>
                <th scope="col">Version</th>
                <th scope="col">Source</th>
                <th scope="col">Commands</th>
              </tr>
            </thead>
            <tbody>
              {drivers.loaded.map((d) => (
                <tr key={d.device_type} data-testid="driver-row" data-device-type={d.device_type}>
                  <td>
                    <code>{d.device_type}</code>
                  </td>
                  <td>{d.display_name}</td>
                  <td>
                    <code>{d.package}</code>
                  </td>
                  <td>{d.version}</td>
                  <td>{SOURCE_LABEL[d.source] ?? d.source}</td>
                  <td>{d.commands.length}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2>Refused drivers</h2>
      {drivers &&
        (drivers.refused.length === 0 ? (
          <p className="empty" data-testid="no-refused">
            No drivers were refused.
          </p>
        ) : (
          <div className="table-wrap">
            <table aria-label="Refused drivers">
              <thead>
                <tr>
                  <th scope="col">Package</th>
                  <th scope="col">Version</th>
                  <th scope="col">Source</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {drivers.refused.map((r, i) => (
                  <tr key={`${r.package}-${i}`} data-testid="refused-row">
                    <td>
                      <code>{r.package}</code>
                    </td>
                    <td>{r.version ?? <span className="muted">—</span>}</td>
                    <td>{SOURCE_LABEL[r.source] ?? r.source}</td>
                    <td className="error-text">{r.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}

      <h2>Commands by device type</h2>
      <p className="muted">
        Open a device type to see its commands, what they do and the role each one needs (operator at least, whatever the driver declares).
      </p>
      {types === null
        ? !error && <div className="loading">Loading device types…</div>
        : types.map((t) => (
            <details key={t.device_type} className="panel device-type-panel" data-testid="device-type" data-device-type={t.device_type}>
              <summary>
                <strong className="dt-name">{t.display_name}</strong> <code className="muted">{t.device_type}</code>{' '}
                <span className="muted">
                  · {t.supported_commands.length} commands · {t.package} {t.version}
                </span>
              </summary>
              {t.supported_commands.length === 0 ? (
                <p className="muted">This device type takes no commands.</p>
              ) : (
                <div className="table-wrap">
                  <table aria-label={`${t.display_name} commands`}>
                    <thead>
                      <tr>
                        <th scope="col">Command</th>
                        <th scope="col">Description</th>
                        <th scope="col">Required role</th>
                        <th scope="col">Changes config</th>
                        <th scope="col">Timeout</th>
                      </tr>
                    </thead>
                    <tbody>
                      {t.supported_commands.map((c) => (
                        <tr key={c.name}>
                          <td>
                            <code>{c.name}</code>
                          </td>
                          <td>{c.description}</td>
                          <td>
                            <span className={`badge role-${commandRole(c)}`}>{commandRole(c)}</span>
                          </td>
                          <td>{c.mutates ? 'yes' : 'no'}</td>
                          <td>{c.timeout_ms ? `${c.timeout_ms / 1000} s` : '—'}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </details>
          ))}
    </>
  );
}
