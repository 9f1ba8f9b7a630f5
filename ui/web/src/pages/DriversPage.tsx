/** Placeholder until the page is written. */
export function DriversPage() {
  return <h1>DriversPage</h1>;
}
