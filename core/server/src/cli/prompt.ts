import readline from 'node:readline';
import { CommandFailed } from './program';

/**
 * Reads a secret: hidden input on a terminal, else one line of standard input (so scripts
 * can pipe it instead of putting it on the command line).
 */
export async function promptSecret(label: string, confirm = false): Promise<string> {
  if (!process.stdin.isTTY) return readStdinLine();
  const { read } = await import('read');
  const value = await read({ prompt: `${label}: `, silent: true, replace: '*' });
  if (confirm) {
    const again = await read({ prompt: `Repeat ${label.toLowerCase()}: `, silent: true, replace: '*' });
    if (again !== value) throw new CommandFailed('the two entries do not match');
  }
  return value;
}

export async function promptText(label: string): Promise<string> {
  if (!process.stdin.isTTY) return readStdinLine();
  const { read } = await import('read');
  return read({ prompt: `${label}: ` });
}

let stdinLines: AsyncIterator<string> | undefined;

async function readStdinLine(): Promise<string> {
  stdinLines ??= readline.createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]();
  const next = await stdinLines.next();
  if (next.done) throw new CommandFailed('expected a value on standard input');
  return next.value;
}
