/** Placeholder until the page is written. */
export function AuditPage() {
  return <h1>AuditPage</h1>;
}
