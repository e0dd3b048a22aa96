/**
 * What an idle orchestrator costs: dist/claude-wrapper orchestrate over a workspace of N idle
 * sessions (status idle, no process, nothing new to hand them), CPU (utime + stime from
 * /proc/<pid>/stat) and VmRSS (/proc/<pid>/status). After it has settled (5 s: the first pass reads every session), CPU is
 * sampled over 10 s, then over a 31 s window that includes one safety-net resync (every 30 s by
 * default), which re-reads every session. All sizes run side by side.
 *
 *   bun bench/idle.ts [sizes=200,1000]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { newSessionRecord } from "../core/workspace/session";
import { taskBlock } from "../core/workspace/tasks";
import { type Bench, type Row, benchDir, cpuSeconds, ensureBinary, orchestrate, printTable, statusMb } from "./lib";

const SETTLE_MS = 5000;
const WINDOW_MS = 10_000;
const RESYNC_WINDOW_MS = 36_000;

/** N idle sessions, laid out as the orchestrator leaves them after a finished turn. */
export function layout(b: Bench, n: number): void {
  mkdirSync(b.workspace);
  const base = Date.now() - n - 1000;
  for (let i = 0; i < n; i++) {
    const persona = i === 0 ? "engineering-manager" : "software-engineer";
    const id = `${persona}-${base + i}`;
    const dir = join(b.workspace, id);
    mkdirSync(dir);
    const instructions = `## Instructions from user (2030-01-01 00:00:00)\n\nPart ${i} of the work.\n\n`;
    writeFileSync(join(dir, "instructions.md"), instructions);
    writeFileSync(join(dir, "tracker.json"), JSON.stringify({ instructionsOffset: Buffer.byteLength(instructions) }));
    writeFileSync(join(dir, "tasks.md"), `# Tasks for ${id}\n\n${taskBlock(`Part ${i}`, "in progress")}`);
    writeFileSync(join(dir, "persona-instructions.md"), `# You are ${id}\n`);
    writeFileSync(
      join(dir, "agent.jsonl"),
      `{"type":"system","subtype":"init","session_id":"s${i}"}\n{"type":"result","subtype":"success","is_error":false,"num_turns":1,"result":"ok","session_id":"s${i}","total_cost_usd":0.01,"usage":{"input_tokens":10,"output_tokens":5}}\n`,
    );
    writeFileSync(join(dir, "agent.stderr.log"), "");
    const rec = newSessionRecord({
      id,
      persona,
      name: `part-${i}`,
      status: "idle",
      runs: 1,
      agentSessionId: crypto.randomUUID(),
      startedAt: new Date(base + i).toISOString(),
      costUsd: 0.01,
      inputTokens: 10,
      outputTokens: 5,
      turns: 1,
      exitCode: 0,
    });
    writeFileSync(join(dir, "session.json"), `${JSON.stringify(rec, null, 2)}\n`);
  }
}

async function one(n: number): Promise<Row[]> {
  const b = benchDir(`idle-${n}`);
  try {
    layout(b, n);
    const o = orchestrate(b);
    try {
      await o.next((e) => e.event === "started");
      const startedAt = Date.now();
      await Bun.sleep(SETTLE_MS); // let the first pass (every session read once) and its garbage settle
      const c0 = cpuSeconds(o.proc.pid);
      const t0 = performance.now();
      await Bun.sleep(WINDOW_MS); // the idle window under measurement
      const c1 = cpuSeconds(o.proc.pid);
      const t1 = performance.now();
      const rss = statusMb(o.proc.pid, "VmRSS");
      await Bun.sleep(Math.max(0, startedAt + RESYNC_WINDOW_MS - Date.now())); // through one resync
      const c2 = cpuSeconds(o.proc.pid);
      const t2 = performance.now();
      const rss2 = statusMb(o.proc.pid, "VmRSS");
      const hwm = statusMb(o.proc.pid, "VmHWM");
      const acted = o.events.filter((e) => e.event !== "started");
      if (acted.length) throw new Error(`the idle orchestrator acted: ${JSON.stringify(acted.slice(0, 3))}`);
      const pct = (c: number, t: number) => (100 * c) / (t / 1000);
      const idle = pct(c1 - c0, t1 - t0);
      const withResync = pct(c2 - c0, t2 - t0);
      return [
        { section: "idle", metric: `CPU, ${n} idle sessions (10 s)`, value: `${idle.toFixed(2)} % of a core`, target: "< 0.5 %", met: idle < 0.5 },
        {
          section: "idle",
          metric: `CPU, ${n} idle sessions (${((t2 - t0) / 1000).toFixed(0)} s, incl. one resync)`,
          value: `${withResync.toFixed(2)} % of a core`,
          target: "< 0.5 %",
          met: withResync < 0.5,
        },
        {
          section: "idle",
          metric: `RSS, ${n} idle sessions`,
          value: `${Math.max(rss, rss2).toFixed(0)} MB (peak ${hwm.toFixed(0)} MB)`,
          target: n >= 1000 ? "< 120 MB" : undefined,
          met: n >= 1000 ? Math.max(rss, rss2) < 120 : undefined,
        },
      ];
    } finally {
      await o.stop();
    }
  } finally {
    b.cleanup();
  }
}

export async function idle(sizes = [200, 1000]): Promise<Row[]> {
  ensureBinary();
  const results = await Promise.all(sizes.map((n) => one(n)));
  // Grouped by metric, each size side by side.
  return [0, 1, 2].flatMap((k) => results.map((r) => r[k]!));
}

if (import.meta.main) printTable(await idle((process.argv[2] ?? "200,1000").split(",").map(Number)));
