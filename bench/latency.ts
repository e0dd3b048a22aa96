/**
 * Reaction time of the orchestrator (dist/claude-wrapper), side by side with the simplest
 * supervisor that could work (a bare Node fs.watch + rename + spawn loop).
 *
 * - request → spawn: from our own clock just after `instructions.md` of a new request dir is
 *   written, to the start time the fake agent records (ms) when the orchestrator has started it.
 * - completion → archive: from just after the session's tasks.md is written all `completed`, to
 *   the `archived` event's timestamp (printed right after the rename to `<id>-completed`).
 *
 * A team (manager + architect) is running; N requests are made one after the other, each "from"
 * the manager, so each archive also tells the manager (which is resumed, as in real use).
 *
 * The baseline (bench/bare-loop.mjs, under Node) gets the same requests one after the other, at
 * the same time in another workspace; it has no claim to make crash-safe, no record to write.
 *
 *   bun bench/latency.ts [samples=200]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
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

/**
 * The same requests against the simplest supervisor that could work (bench/bare-loop.mjs, under
 * Node: fs.watch, rename the request into a session dir, spawn the agent), one after the other.
 */
export async function measureBareLoop(samples: number): Promise<number[]> {
  const b = benchDir("bare");
  mkdirSync(b.workspace);
  const loop = Bun.spawn(["node", join(import.meta.dir, "bare-loop.mjs"), b.workspace], { cwd: b.root, env: b.env, stdin: "ignore", stdout: "pipe", stderr: "inherit" });
  try {
    await new Response(loop.stdout).body!.getReader().read(); // its "started" line
    const spawn: number[] = [];
    for (let i = 0; i < samples; i++) {
      const req = join(b.workspace, `intern-request-s${i}`);
      mkdirSync(req);
      writeFileSync(join(req, "instructions.md"), `## Instructions from user\n\nTask ${i}\n`);
      const t0 = Date.now();
      spawn.push((await poll("the bare loop's agent start", () => agentStart(join(b.workspace, `intern-s${i}`)), 10_000)) - t0);
    }
    return spawn;
  } finally {
    loop.kill("SIGTERM");
    await loop.exited;
    b.cleanup();
  }
}

export async function latency(samples = 200): Promise<Row[]> {
  ensureBinary();
  // Side by side: both run at once, so both see the same machine.
  const [ours, bare] = await Promise.all([measureOrchestrator(samples), measureBareLoop(samples)]);
  const rows: Row[] = [];
  for (const p of [50, 99] as const) {
    const v = percentile(ours.spawn, p);
    const base = percentile(bare, p);
    rows.push({
      section: "latency",
      metric: `request → agent start p${p} (n=${ours.spawn.length})`,
      value: `${ms(v)} (${(v / base).toFixed(2)}x)`,
      baseline: `${ms(base)} bare fs.watch + rename + spawn loop`,
      target: p === 99 ? "≤ 1.25x bare" : undefined,
      met: p === 99 ? v <= 1.25 * base : undefined,
    });
  }
  for (const p of [50, 99] as const) {
    const v = percentile(ours.archive, p);
    rows.push({ section: "latency", metric: `tasks completed → archived p${p} (n=${ours.archive.length})`, value: ms(v), target: p === 99 ? "< 250 ms (150 ms of it: tasks.md settles)" : undefined, met: p === 99 ? v < 250 : undefined });
  }
  return rows;
}

if (import.meta.main) printTable(await latency(Number(process.argv[2] ?? 200)));
