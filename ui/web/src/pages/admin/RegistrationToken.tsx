import { CopyButton } from '../../components/CopyButton';
import { formatDateTime } from '../../components/format';

export interface IssuedToken {
  node_id: string;
  node_name: string;
  device_type: string;
  registration_token: string;
  registration_expires_at: string | null;
}

/** The device-facing URL of this manager: wss when the page is https, ws otherwise. */
export function nodeSocketUrl(): string {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${window.location.host}/ws/node`;
}

/** What to put in the device's own configuration, by kind of device. */
function deviceConfig(deviceType: string, token: string, url: string): { file: string; text: string } {
  if (deviceType === 'edge' || deviceType === 'relay') {
    // The "manager" section of the device's config.json.
    const text = ['"manager": {', '  "enabled": true,', `  "urls": [${JSON.stringify(url)}],`, `  "registration_token": ${JSON.stringify(token)}`, '}'].join(
      '\n'
    );
    return { file: `the ${deviceType}'s config.json`, text };
  }
  return { file: 'the gateway’s manager section (SDK sidecar config)', text: `[manager]\nurls = ["${url}"]\nregistration_token = "${token}"` };
}

/**
 * A freshly issued registration token: the node id and the token with copy buttons, when the
 * token expires, and the lines for the device's config. Shown once; the server never returns
 * the token again.
 */
export function RegistrationToken({ issued, onDone }: { issued: IssuedToken; onDone: () => void }) {
  const url = nodeSocketUrl();
  const config = deviceConfig(issued.device_type, issued.registration_token, url);
  const secure = url.startsWith('wss:');
  return (
    <div className="token-result">
      <div className="success-box" role="status">
        Node <strong>{issued.node_name}</strong> is ready to register.
      </div>
      <dl className="token-values">
        <dt>Node ID</dt>
        <dd>
          <code data-testid="node-id">{issued.node_id}</code>
          <CopyButton text={issued.node_id} label="Copy node ID" />
        </dd>
        <dt>Registration token</dt>
        <dd>
          <code data-testid="registration-token">{issued.registration_token}</code>
          <CopyButton text={issued.registration_token} label="Copy token" />
        </dd>
      </dl>
      <p className="warn-note">
        This token is shown <strong>only once</strong> and can be used a single time. It expires{' '}
        {issued.registration_expires_at ? <strong>{formatDateTime(issued.registration_expires_at)}</strong> : 'after the configured time'}. If it is lost or
        expires, use “Token” on the node to issue a new one.
      </p>
      <p>Put these lines in {config.file}; the device dials out to the manager, registers with the token and stores the credentials it receives:</p>
      <pre className="config-snippet" data-testid="config-snippet">
        {config.text}
      </pre>
      <div className="row">
        <CopyButton text={config.text} label="Copy config" />
      </div>
      {!secure && (
        <p className="muted small-note">
          This page is served over plain HTTP, so the URL above uses <code>ws://</code>. Real devices only connect over <code>wss://</code> (TLS): serve the
          manager with TLS and use <code>wss://{window.location.host}/ws/node</code>.
        </p>
      )}
      <div className="dialog-actions">
        <button type="button" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}
