import { writeSync } from "node:fs";
import { stripAnsi } from "./ansi";
import type { Paint } from "../cli/output";

export { stripAnsi };

export function visibleLength(s: string): number {
  return stripAnsi(s).length;
}

function pad(s: string, width: number, right: boolean): string {
  const gap = " ".repeat(Math.max(0, width - visibleLength(s)));
  return right ? gap + s : s + gap;
}

/** Columns padded to their widest cell; `right` holds the indexes of right-aligned columns. */
export function table(header: string[], rows: string[][], opts: { indent?: string; right?: number[]; paint?: Paint } = {}): string[] {
  const widths = header.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ""))));
  const right = new Set(opts.right ?? []);
  const line = (cells: string[]) =>
    (opts.indent ?? "") +
    cells
      .map((c, i) => (i === cells.length - 1 && !right.has(i) ? c : pad(c, widths[i]!, right.has(i))))
      .join("  ");
  const head = line(header);
  return [opts.paint ? opts.paint.dim(head) : head, ...rows.map(line)];
}

/** A budget as it was given (0.005 stays $0.005, 2 stays $2): never rounded to look reached. */
export function formatBudget(usd: number): string {
  return `$${usd}`;
}

export function formatCost(usd: number): string {
  return `$${usd.toFixed(usd >= 100 ? 2 : 4)}`;
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "-";
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

const two = (n: number) => String(n).padStart(2, "0");

/** `HH:MM:SS`, 24-hour local time. */
export function clock(d: Date = new Date()): string {
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** Local time as `YYYY-MM-DD HH:MM:SS`, or only `HH:MM:SS` when it is today and `short`. */
export function formatTime(iso: string | null | undefined, short = false, now = new Date()): string {
  if (!iso) return "-";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "-";
  const time = clock(d);
  if (short && d.toDateString() === now.toDateString()) return time;
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${time}`;
}

export function formatTokens(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)}k`;
  return `${(n / 1_000_000).toFixed(2)}M`;
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/**
 * A JSON array with one element per line: valid JSON for scripts, greppable by line, and much
 * cheaper than indenting every field when a workspace holds thousands of sessions.
 */
export function jsonLines(items: unknown[]): string {
  return items.length ? `[\n${items.map((i) => JSON.stringify(i)).join(",\n")}\n]\n` : "[]\n";
}

/**
 * An object as indented JSON, except that the arrays named in `compact` hold one element per
 * line (see jsonLines): a snapshot of thousands of sessions stays readable and quick to print.
 */
export function jsonDocument(doc: Record<string, unknown>, compact: string[]): string {
  const fields = Object.entries(doc).map(([k, v]) => {
    const value =
      compact.includes(k) && Array.isArray(v)
        ? v.length
          ? // The indent goes into the separator: no extra string per element.
            `[\n    ${v.map((i) => JSON.stringify(i)).join(",\n    ")}\n  ]`
          : "[]"
        : JSON.stringify(v, null, 2).replace(/\n/g, "\n  ");
    return `  ${JSON.stringify(k)}: ${value}`;
  });
  return `{\n${fields.join(",\n")}\n}\n`;
}

/**
 * Write all of `text` to stdout and wait for it. Not through process.stdout: touching it loads
 * Node's stream machinery (~15 ms), a third of a listing's budget. A reader that went away
 * (`| head`) is not an error.
 */
export async function writeStdout(text: string): Promise<void> {
  let rest: string | Uint8Array = text;
  try {
    // One write() straight from the string: for a 3 MB listing, Bun.write(Bun.stdout, text)
    // costs ~4 ms and ~1,600 page faults (it copies the text first), this ~1.5 ms and ~800.
    const written = writeSync(1, text);
    if (written === Buffer.byteLength(text)) return;
    // A short write (a non-blocking pipe that filled up, a signal): Bun.write finishes it.
    rest = Buffer.from(text).subarray(written);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EPIPE") return;
    // EAGAIN: a full non-blocking pipe took nothing; Bun.write waits until it drains.
    if (code !== "EAGAIN") throw err;
  }
  try {
    await Bun.write(Bun.stdout, rest);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPIPE") throw err;
  }
}
