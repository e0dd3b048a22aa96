/**
 * Shared pieces of the benchmarks: temp workspaces, a minimal fake `claude`, the built binary
 * run as `orchestrate --json` with its events collected, percentiles, /proc sampling.
 *
 * The fake claude here is deliberately tiny (sh + one `date`): the benchmarks measure the
 * orchestrator, not test/fixtures/claude's argv bookkeeping (~50 ms of forks per run).
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { eachJsonLine } from "../test/helpers";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..");
export const BINARY = join(ROOT, "dist/claude-wrapper");

export interface Row {
  section: string;
  metric: string;
  value: string;
  /** The same figure for the thing compared against (polling loop, bare read, node -e 0). */
  baseline?: string;
  target?: string;
  /** true / false when there is a target, undefined otherwise. */
  met?: boolean;
  note?: string;
}

/** Build dist/claude-wrapper when it is missing (the benchmarks run the real binary). */
export function ensureBinary(): string {
  if (!existsSync(BINARY)) {
    console.error("dist/claude-wrapper is missing: building it (npm run build)…");
    const r = Bun.spawnSync([process.execPath, join(ROOT, "scripts/build.ts")], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
    if (r.exitCode !== 0) throw new Error("build failed");
  }
  return BINARY;
}

/** The fake agent: records its start time (ms) and pid, prints a finished turn, exits 0. */
const FAKE_CLAUDE = `#!/bin/sh
d="\${CLAUDE_WRAPPER_SESSION_DIR:-.}"
echo "{\\"ts\\":$(date +%s%3N),\\"pid\\":$$}" >> "$d/fake-claude.calls.jsonl"
echo '{"type":"system","subtype":"init","session_id":"bench"}'
echo '{"type":"result","subtype":"success","is_error":false,"num_turns":1,"result":"ok","session_id":"bench","total_cost_usd":0,"usage":{"input_tokens":1,"output_tokens":1}}'
exit 0
`;

export interface Bench {
  root: string;
  workspace: string;
  env: Record<string, string>;
  cleanup(): void;
}

export function benchDir(tag: string): Bench {
  const root = mkdtempSync(join(tmpdir(), `cw-bench-${tag}-`));
  const bin = join(root, ".bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "claude"), FAKE_CLAUDE);
  chmodSync(join(bin, "claude"), 0o755);
  const workspace = join(root, ".database");
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PATH: `${bin}:${process.env.PATH}`,
    CLAUDE_WRAPPER_WORKSPACE: workspace,
    NO_COLOR: "1",
  };
  return { root, workspace, env, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export interface Orch {
  proc: ReturnType<typeof Bun.spawn>;
  events: Array<Record<string, any>>;
  /** Resolves when an event matching `pred` has arrived (checked as each line arrives). */
  next(pred: (e: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  stop(): Promise<void>;
}

/** `dist/claude-wrapper orchestrate --json`, events parsed as they arrive. */
export function orchestrate(b: Bench, extra: string[] = [], env: Record<string, string> = {}): Orch {
  // BENCH_ORCHESTRATOR='["bun","--cpu-prof-md","cli.ts"]' runs another build (to profile it).
  const argv: string[] = process.env.BENCH_ORCHESTRATOR ? JSON.parse(process.env.BENCH_ORCHESTRATOR) : [BINARY];
  const proc = Bun.spawn([...argv, "orchestrate", "--json", ...extra], {
    cwd: b.root,
    env: { ...b.env, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
  });
  const events: Array<Record<string, any>> = [];
  const waiters: Array<{ pred: (e: Record<string, any>) => boolean; resolve: (e: Record<string, any>) => void }> = [];
  void eachJsonLine(proc.stdout as ReadableStream<Uint8Array>, (e) => {
    events.push(e);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.pred(e)) {
        waiters[i]!.resolve(e);
        waiters.splice(i, 1);
      }
    }
  });
  return {
    proc,
    events,
    next(pred, timeoutMs = 60_000) {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for an event (${pred})`)), timeoutMs);
        waiters.push({ pred, resolve: (e) => (clearTimeout(t), resolve(e)) });
      });
    },
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

/** Run the CLI binary to completion (team start and the like). */
export function cli(b: Bench, args: string[]): void {
  const r = Bun.spawnSync([BINARY, ...args], { cwd: b.root, env: b.env, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`claude-wrapper ${args.join(" ")} exited ${r.exitCode}: ${r.stderr}`);
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function median(xs: number[]): number {
  return percentile(xs, 50);
}

/** utime + stime of a process, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(f[11]) + Number(f[12]);
  return ticks / clockTicks();
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond) return ticksPerSecond;
  const r = Bun.spawnSync(["getconf", "CLK_TCK"], { stdout: "pipe" });
  ticksPerSecond = Number(r.stdout.toString().trim()) || 100;
  return ticksPerSecond;
}

/** A /proc/<pid>/status field in MB (VmRSS, VmHWM). */
export function statusMb(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

export const ms = (x: number) => `${x < 10 ? x.toFixed(1) : Math.round(x)} ms`;

export async function poll<T>(what: string, check: () => T, timeoutMs = 60_000, everyMs = 1): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(everyMs);
  }
}

/** Print rows as a table (used by each script alone and by run.ts for all of them). */
export function printTable(rows: Row[]): void {
  const cols = ["section", "metric", "value", "baseline", "target", "met"] as const;
  const cell = (r: Row, c: (typeof cols)[number]) => (c === "met" ? (r.met === undefined ? "" : r.met ? "yes" : "NO") : (r[c] ?? ""));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(cell(r, c)).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join("  ").trimEnd();
  console.log(line([...cols]));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => String(cell(r, c)))));
  const notes = rows.filter((r) => r.note);
  if (notes.length) {
    console.log("");
    for (const r of notes) console.log(`* ${r.section} / ${r.metric}: ${r.note}`);
  }
}
