/** Placeholder until the page is written. */
export function EventsPage() {
  return <h1>EventsPage</h1>;
}
