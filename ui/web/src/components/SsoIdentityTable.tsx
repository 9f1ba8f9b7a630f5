import { formatDateTime } from './format';

export interface SsoIdentity {
  issuer: string;
  subject: string;
  created_at: string;
}

/** Identity provider accounts linked to a user, each with a Remove button. */
export function SsoIdentityTable({ label, identities, disabled, onRemove }: { label: string; identities: SsoIdentity[]; disabled?: boolean; onRemove(identity: SsoIdentity): void }) {
  return (
    <table aria-label={label}>
      <thead>
        <tr>
          <th scope="col">Identity provider</th>
          <th scope="col">Account (subject)</th>
          <th scope="col">Linked</th>
          <th scope="col" />
        </tr>
      </thead>
      <tbody>
        {identities.map((identity) => (
          <tr key={`${identity.issuer} ${identity.subject}`} data-testid="sso-identity-row">
            <td>{identity.issuer}</td>
            <td>
              <code>{identity.subject}</code>
            </td>
            <td>{formatDateTime(identity.created_at)}</td>
            <td>
              <button type="button" className="secondary small" disabled={disabled} onClick={() => onRemove(identity)} aria-label={`Remove ${identity.subject}`}>
                Remove
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
