/**
 * Reaction time of the orchestrator (dist/claude-wrapper), against a naive 5 s polling loop.
 *
 * - request → spawn: from our own clock just after `instructions.md` of a new request dir is
 *   written, to the start time the fake agent records (ms) when the orchestrator has started it.
 * - completion → archive: from just after the session's tasks.md is written all `completed`, to
 *   the `archived` event's timestamp (printed right after the rename to `<id>-completed`).
 *
 * A team (manager + architect) is running; N requests are made one after the other, each "from"
 * the manager, so each archive also tells the manager (which is resumed, as in real use).
 *
 * The baseline is a real loop in this process (sleep 5 s, scan, claim + spawn, archive the
 * complete), measured on fewer samples written at random moments, and given with the analytic
 * figures (a uniform wait over the 5 s period: p50 2.5 s, p99 4.95 s).
 *
 *   bun bench/latency.ts [samples=200] [baselineSamples=20]
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Row, benchDir, cli, ensureBinary, ms, orchestrate, percentile, poll, printTable } from "./lib";

const COMPLETE = "# Tasks\n\n## Task: the job\n- **Status**: completed\n";

function agentStart(sessionDir: string): number | undefined {
  const f = join(sessionDir, "fake-claude.calls.jsonl");
  if (!existsSync(f)) return undefined;
  const first = readFileSync(f, "utf8").split("\n")[0];
  try {
    return JSON.parse(first!).ts as number;
  } catch {
    return undefined;
  }
}

export async function measureOrchestrator(samples: number): Promise<{ spawn: number[]; archive: number[] }> {
  const b = benchDir("latency");
  try {
    cli(b, ["team", "start", "Latency bench"]);
    const o = orchestrate(b);
    try {
      const mgr = await o.next((e) => e.event === "idle" && e.persona === "engineering-manager");
      await o.next((e) => e.event === "idle" && e.persona === "solutions-architect");
      const spawn: number[] = [];
      const archive: number[] = [];
      for (let i = 0; i < samples; i++) {
        const name = `s${i}`;
        const req = join(b.workspace, `intern-request-${name}`);
        mkdirSync(req);
        writeFileSync(join(req, "instructions.md"), `## Instructions from ${mgr.session}\n\nTask ${i}\n`);
        const t0 = Date.now();
        const spawned = await o.next((e) => e.event === "spawned" && e.name === name);
        const dir = join(b.workspace, spawned.session);
        const started = await poll("the agent's start record", () => agentStart(dir), 10_000);
        spawn.push(started - t0);
        await o.next((e) => e.event === "idle" && e.session === spawned.session);
        writeFileSync(join(dir, "tasks.md"), COMPLETE);
        const t1 = Date.now();
        const archived = await o.next((e) => e.event === "archived" && e.session === spawned.session);
        archive.push(Date.parse(archived.ts) - t1);
      }
      return { spawn, archive };
    } finally {
      await o.stop();
    }
  } finally {
    b.cleanup();
  }
}

/** The naive supervisor: every 5 s, scan; claim and start requests; archive complete sessions. */
export async function measurePolling(samples: number, periodMs = 5000): Promise<{ spawn: number[]; archive: number[] }> {
  const b = benchDir("polling");
  mkdirSync(b.workspace);
  const ws = b.workspace;
  const claude = join(b.root, ".bin/claude");
  const archivedAt = new Map<string, number>();
  let running = true;
  const loop = (async () => {
    while (running) {
      await Bun.sleep(periodMs);
      for (const d of readdirSync(ws)) {
        const req = /^intern-request-(.+)$/.exec(d);
        if (req) {
          if (!existsSync(join(ws, d, "instructions.md"))) continue;
          const dir = join(ws, `intern-${req[1]}`);
          renameSync(join(ws, d), dir);
          writeFileSync(join(dir, "tasks.md"), "## Task: the job\n- **Status**: pending\n");
          Bun.spawn([claude, "-p", "go"], { cwd: b.root, env: { ...b.env, CLAUDE_WRAPPER_SESSION_DIR: dir }, stdout: "ignore", stderr: "ignore" });
          continue;
        }
        if (!d.startsWith("intern-") || d.endsWith("-completed")) continue;
        const tasks = readFileSync(join(ws, d, "tasks.md"), "utf8");
        const statuses = [...tasks.matchAll(/\*\*Status\*\*:\s*(.+)/g)].map((m) => m[1]!.trim().toLowerCase());
        if (statuses.length && statuses.every((s) => s === "completed")) {
          renameSync(join(ws, d), join(ws, `${d}-completed`));
          archivedAt.set(d, Date.now());
        }
      }
    }
  })();
  try {
    // Samples written at random moments over two periods, so the waits spread over the phase.
    const window = 2 * periodMs;
    const written = new Map<string, number>();
    await Promise.all(
      Array.from({ length: samples }, (_, i) =>
        Bun.sleep(Math.random() * window).then(() => {
          const req = join(ws, `intern-request-p${i}`);
          mkdirSync(req);
          writeFileSync(join(req, "instructions.md"), `## Instructions from user\n\nTask ${i}\n`);
          written.set(`intern-p${i}`, Date.now());
        }),
      ),
    );
    const spawn: number[] = [];
    for (const [d, t0] of written) spawn.push((await poll("polled spawn", () => agentStart(join(ws, d)), 3 * periodMs, 20)) - t0);
    const completedAt = new Map<string, number>();
    await Promise.all(
      [...written.keys()].map((d) =>
        Bun.sleep(Math.random() * window).then(() => {
          writeFileSync(join(ws, d, "tasks.md"), COMPLETE);
          completedAt.set(d, Date.now());
        }),
      ),
    );
    const archive: number[] = [];
    for (const [d, t1] of completedAt) archive.push((await poll("polled archive", () => archivedAt.get(d), 3 * periodMs, 20)) - t1);
    return { spawn, archive };
  } finally {
    running = false;
    await loop;
    b.cleanup();
  }
}

export async function latency(samples = 200, baselineSamples = 20): Promise<Row[]> {
  ensureBinary();
  const [ours, polled] = await Promise.all([measureOrchestrator(samples), measurePolling(baselineSamples)]);
  const rows: Row[] = [];
  for (const [key, label] of [
    ["spawn", "request → spawn"],
    ["archive", "completion → archive"],
  ] as const) {
    for (const p of [50, 99] as const) {
      const v = percentile(ours[key], p);
      rows.push({
        section: "latency",
        metric: `${label} p${p} (n=${ours[key].length})`,
        value: ms(v),
        baseline: `${ms(percentile(polled[key], p))} measured (n=${polled[key].length}); ${p === 50 ? "2500" : "4950"} ms expected`,
        target: p === 99 ? "< 100 ms" : undefined,
        met: p === 99 ? v < 100 : undefined,
      });
    }
  }
  rows[0]!.note =
    "baseline = a real loop that sleeps 5 s and scans (claim + spawn, archive), run alongside with samples written at random moments; expected = uniform wait over the period";
  return rows;
}

if (import.meta.main) {
  printTable(await latency(Number(process.argv[2] ?? 200), Number(process.argv[3] ?? 20)));
}
