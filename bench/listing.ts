/**
 * How fast are `attach --list --json` and `team status --json` over a big workspace?
 * Lays out 10,000 sessions (session.json + tasks.md each) in a temp dir, then times each command
 * as a whole process (startup included) against a bare read of the same files: a minimal Bun
 * script that readdirs the workspace and JSON.parses every session.json. Prints a table; the
 * target is within 1.5x of the bare read. Runs are round-robin; median and best are both shown.
 *
 *   bun bench/listing.ts [sessions=10000] [runs=7]
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileIdentity } from "../core/base/fsx";
import { newSessionRecord } from "../core/workspace/session";
import { taskBlock } from "../core/workspace/tasks";

const ROOT = join(import.meta.dir, "..");
const SESSIONS = Number(process.argv[2] ?? 10_000);
const RUNS = Number(process.argv[3] ?? 7);
const PERSONAS = ["engineering-manager", "solutions-architect", "software-engineer", "software-engineer", "intern"];
const STATUSES = ["active", "idle", "stopped", "completed", "pending", "failed"] as const;

function layout(root: string): string {
  const ws = join(root, ".database");
  mkdirSync(ws);
  const base = 1_700_000_000_000;
  for (let i = 0; i < SESSIONS; i++) {
    const persona = PERSONAS[i % PERSONAS.length]!;
    const id = `${persona}-${base + i}`;
    const dir = join(ws, id);
    mkdirSync(dir);
    const status = STATUSES[i % STATUSES.length]!;
    // Active sessions carry a PID (one that is not running: a crashed orchestrator's leftovers).
    const pid = status === "active" ? 4_000_000 + i : null;
    const tasks = [taskBlock(`Task ${i} part one`, "completed"), taskBlock(`Task ${i} part two`, i % 3 ? "in progress" : "completed")];
    writeFileSync(join(dir, "tasks.md"), `# Tasks for ${id}\n\n${tasks.join("")}`);
    // As in a real workspace: the orchestrator (and `team start`) record the counts of the
    // tasks.md they last read, with its identity.
    const counted = { tasksDone: i % 3 ? 1 : 2, tasksTotal: 2, tasksKey: fileIdentity(join(dir, "tasks.md")) };
    const rec = newSessionRecord({
      id,
      persona,
      name: `${persona.split("-").pop()}-${i}`,
      status,
      pid,
      pidStartTime: pid ? "123456" : null,
      startedAt: new Date(base + i).toISOString(),
      costUsd: (i % 100) / 1000,
      inputTokens: 1000 + i,
      outputTokens: 500 + i,
      ...counted,
    });
    writeFileSync(join(dir, "session.json"), `${JSON.stringify(rec, null, 2)}\n`);
  }
  return ws;
}

const BARE = `
import { readdirSync, readFileSync } from "node:fs";
const ws = process.argv[2];
let n = 0;
for (const d of readdirSync(ws)) {
  if (d.startsWith(".")) continue;
  try { JSON.parse(readFileSync(ws + "/" + d + "/session.json", "utf8")); n++; } catch {}
}
console.log(n);
`;

// team status also reads every tasks.md (task progress): its bare read is of both files.
const BARE_WITH_TASKS = `
import { readdirSync, readFileSync } from "node:fs";
const ws = process.argv[2];
let n = 0;
for (const d of readdirSync(ws)) {
  if (d.startsWith(".")) continue;
  try { JSON.parse(readFileSync(ws + "/" + d + "/session.json", "utf8")); readFileSync(ws + "/" + d + "/tasks.md", "utf8"); n++; } catch {}
}
console.log(n);
`;

function timeRun(argv: string[], cwd: string): number {
  const t0 = performance.now();
  // Output to /dev/null, as hyperfine does: a listing pays for making its 3-6 MB of JSON, not for
  // this parent reading it through a pipe.
  const r = Bun.spawnSync(argv, { cwd, stdout: "ignore", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${r.exitCode}: ${r.stderr.toString()}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const root = mkdtempSync(join(tmpdir(), "cw-bench-listing-"));
try {
  const t0 = performance.now();
  const ws = layout(root);
  console.log(`${SESSIONS} sessions laid out in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${RUNS} runs each, wall time per process`);
  const bareScript = join(root, "bare-read.ts");
  writeFileSync(bareScript, BARE);
  const bareTasksScript = join(root, "bare-read-tasks.ts");
  writeFileSync(bareTasksScript, BARE_WITH_TASKS);

  const bun = process.execPath;
  const empty = join(root, "empty", ".database");
  mkdirSync(empty, { recursive: true });
  writeFileSync(join(root, "nothing.ts"), "");
  // `vs`: the bare read of the same files the command reads (index into entries).
  const entries: Array<{ name: string; argv: string[]; vs?: number }> = [
    { name: "bare read (bun)", argv: [bun, bareScript, ws] },
    { name: "bare read + tasks.md (bun)", argv: [bun, bareTasksScript, ws] },
    // Fixed costs, to tell start-up from per-session work.
    { name: "bun, empty script", argv: [bun, join(root, "nothing.ts")] },
    { name: "bun cli.ts attach --list --json, 0 sessions", argv: [bun, join(ROOT, "cli.ts"), "attach", "--list", "--json", "--workspace", empty] },
  ];
  const runners: Array<{ tag: string; argv: string[] }> = [{ tag: "bun cli.ts", argv: [bun, join(ROOT, "cli.ts")] }];
  const binary = join(ROOT, "dist/claude-wrapper");
  if (existsSync(binary)) runners.push({ tag: "dist/claude-wrapper", argv: [binary] });
  for (const r of runners) {
    entries.push({ name: `${r.tag} attach --list --json`, argv: [...r.argv, "attach", "--list", "--json", "--workspace", ws] });
    entries.push({ name: `${r.tag} team status --json`, argv: [...r.argv, "team", "status", "--json", "--workspace", ws], vs: 1 });
  }

  // One untimed round first: the OS file cache and Bun's transpiler cache are warm for everyone.
  // Then round-robin, so a busy machine slows every command alike instead of one of them.
  for (const e of entries) timeRun(e.argv, root);
  const times = entries.map(() => [] as number[]);
  for (let r = 0; r < RUNS; r++) entries.forEach((e, i) => times[i]!.push(timeRun(e.argv, root)));
  const results = entries.map((e, i) => ({ ...e, ms: median(times[i]!), min: Math.min(...times[i]!) }));
  const width = Math.max(...results.map((r) => r.name.length));
  console.log(`${"command".padEnd(width)}  ${"median ms".padStart(9)}  ${"ratio".padStart(5)}  ${"min ms".padStart(7)}  ${"ratio".padStart(5)}  against`);
  for (const r of results) {
    const bare = results[r.vs ?? 0]!;
    console.log(
      `${r.name.padEnd(width)}  ${r.ms.toFixed(1).padStart(9)}  ${(r.ms / bare.ms).toFixed(2).padStart(4)}x  ${r.min.toFixed(1).padStart(7)}  ${(r.min / bare.min).toFixed(2).padStart(4)}x  ${bare.name}`,
    );
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
