/** Placeholder until the page is written. */
export function NodesPage() {
  return <h1>NodesPage</h1>;
}
