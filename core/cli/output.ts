/**
 * The one way human lines leave the program: one palette (consola's colours) for every view, and
 * one log for long-running commands (orchestrate, demo) built on consola with a reporter of our
 * own, so every line reads `HH:MM:SS <icon> <text>` whether it goes to a terminal or a file.
 *
 * Depends on nothing of ours but base/ansi and types, so any layer may use it. Loading it loads consola (a few
 * ms): the listings' `--json` paths never import it.
 */
import { type ConsolaInstance, type LogObject, createConsola } from "consola";
import { box, colors } from "consola/utils";
import { wantColor } from "../base/ansi";
import { clock } from "../base/format";
import type { SessionStatus } from "../workspace/session";

export { wantColor };

type Stream = { isTTY?: boolean };

export interface Paint {
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  red(s: string): string;
  cyan(s: string): string;
  status(status: SessionStatus, text?: string): string;
}

const same = (s: string) => s;

function palette(c: Record<"bold" | "dim" | "green" | "yellow" | "red" | "cyan", (s: string) => string>): Paint {
  const byStatus: Partial<Record<SessionStatus, (s: string) => string>> = {
    active: c.green,
    completed: c.cyan,
    restarting: c.yellow,
    queued: c.yellow,
    failed: c.red,
    stopped: c.dim,
  };
  return { ...c, status: (status, text = status) => (byStatus[status] ?? same)(text) };
}

export const PLAIN: Paint = palette({ bold: same, dim: same, green: same, yellow: same, red: same, cyan: same });

// consola decides once, from stdout, whether its colours are on; a stream we paint for may still
// want none (a pipe, NO_COLOR), which wantColor decides per stream.
const COLOURED: Paint = palette({ bold: colors.bold, dim: colors.dim, green: colors.green, yellow: colors.yellow, red: colors.red, cyan: colors.cyan });

/** The palette for text written to `stream` (or forced on/off). */
export function paint(target: Stream | boolean = process.stdout): Paint {
  return (typeof target === "boolean" ? target : wantColor(target)) ? COLOURED : PLAIN;
}

/** What each kind of log line starts with. `log` lines carry their own (the events' emoji). */
const ICON: Partial<Record<string, string>> = {
  info: "ℹ️ ",
  start: "▶️ ",
  success: "✔",
  ready: "✔",
  warn: "⚠️ ",
  error: "❌",
  fail: "❌",
  fatal: "❌",
};

type Writable = Stream & { write(s: string): unknown };

/**
 * One line per log call, each physical line prefixed with the time. The text is printed as
 * given: consola's own reporters turn `` `x` `` into a colour and drop the backticks, which loses
 * the commands a fix names.
 */
function lineReporter(stream: Writable) {
  return {
    log(obj: LogObject) {
      const p = paint(stream);
      const icon = ICON[obj.type];
      const text = obj.args.map((a) => (typeof a === "string" ? a : a instanceof Error ? a.message : JSON.stringify(a))).join(" ");
      const mark = icon ? `${obj.level <= 1 ? p.red(icon) : icon} ` : "";
      const stamp = p.dim(clock(obj.date));
      const lines = text.split("\n").map((line, i) => `${stamp} ${i === 0 ? mark : ""}${line}`);
      stream.write(`${lines.join("\n")}\n`);
    },
  };
}

function levelFromEnv(): number {
  // consola drops to warnings when NODE_ENV=test or TEST is set: a log must not vanish for that.
  const n = Number.parseInt(process.env.CONSOLA_LEVEL ?? "", 10);
  return Number.isFinite(n) ? n : 3;
}

/** A timestamped log on `stream` (stdout by default: one chronological log a redirect captures). */
export function createLog(stream: Writable = process.stdout): ConsolaInstance {
  return createConsola({ level: levelFromEnv(), reporters: [lineReporter(stream)], throttle: 0 });
}

let shared: ConsolaInstance | undefined;

/** The log of this process on stdout. */
export function log(): ConsolaInstance {
  shared ??= createLog();
  return shared;
}

/** A framed title (demo); plain lines when the stream is not a terminal. */
export function banner(text: string, stream: Writable = process.stdout): void {
  stream.write(wantColor(stream) ? `${box(text)}\n` : `${text}\n\n`);
}
