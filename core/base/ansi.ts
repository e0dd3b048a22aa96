/**
 * Whether a stream gets colour, and text without it. Kept apart from the palette (core/cli/output)
 * so the paths that never colour anything (`--json`, the runner) do not load consola to ask.
 */

/** Colour only on a terminal that wants it (https://no-color.org, TERM=dumb, pipes: plain). */
export function wantColor(stream: { isTTY?: boolean } = process.stdout): boolean {
  return !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== "dumb";
}

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, "");
}
