/**
 * Waiting for something to happen — or to have happened a counted number of times — with a
 * deadline, instead of sleeping a fixed time and hoping. An absence check waits for the event that
 * would come *after* the one that must not happen (a later log line, a counted round) and then
 * asserts the count.
 */

/** Resolves once `check()` holds (polled every `intervalMs`); throws naming `what` after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, intervalMs = 250): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** How many times `re` (a global or plain regexp) occurs in `text`: log lines, events, rounds. */
export function count(text: string, re: RegExp): number {
  return (text.match(new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g')) ?? []).length;
}
