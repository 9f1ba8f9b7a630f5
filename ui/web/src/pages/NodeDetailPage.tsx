/** Placeholder until the page is written. */
export function NodeDetailPage() {
  return <h1>NodeDetailPage</h1>;
}
