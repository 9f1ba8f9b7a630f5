/** Placeholder until the page is written. */
export function UsersPage() {
  return <h1>UsersPage</h1>;
}
