import { formatDateTime } from './format';

export interface SsoIdentity {
  issuer: string;
  subject: string;
  source: 'user' | 'admin' | 'auto_create' | 'email_match';
  created_at: string;
}

const SOURCE_LABEL: Record<SsoIdentity['source'], string> = {
  user: 'by the user',
  admin: 'by an administrator',
  auto_create: 'at account creation',
  email_match: 'by matching email (older version: review it)'
};

/** Identity provider accounts linked to a user, each with a Remove button. */
export function SsoIdentityTable({
  label,
  identities,
  disabled,
  onRemove
}: {
  label: string;
  identities: SsoIdentity[];
  disabled?: boolean;
  onRemove: (identity: SsoIdentity) => void;
}) {
  return (
    <table aria-label={label}>
      <thead>
        <tr>
          <th scope="col">Identity provider</th>
          <th scope="col">Account (subject)</th>
          <th scope="col">Linked</th>
          <th scope="col">How</th>
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
            <td className={identity.source === 'email_match' ? 'severity-warning' : undefined}>{SOURCE_LABEL[identity.source] ?? identity.source}</td>
            <td>
              <button
                type="button"
                className="secondary small"
                disabled={disabled}
                onClick={() => onRemove(identity)}
                aria-label={`Remove ${identity.subject}`}
              >
                Remove
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
