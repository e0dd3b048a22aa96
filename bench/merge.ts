/**
 * What git isolation costs the supervisor (dist/claude-wrapper), in a small git project:
 *
 * - request → agent start: the worktree is made (forked from the team branch, checked out)
 *   before the first run; compare bench/latency.ts's figure without git.
 * - tasks completed → merged → archived: the session's work (one file, left uncommitted) is
 *   committed, merged into the team branch, its worktree removed, the session archived.
 * - the merge queue: N sessions completing at once, merged one at a time: until all archived.
 *
 *   bun bench/merge.ts [samples=30] [burst=20]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Bench, type Row, benchDir, cli, ensureBinary, ms, orchestrate, percentile, poll, printTable } from "./lib";

const COMPLETE = "# Tasks\n\n## Task: the job\n- **Status**: completed\n";

function sh(cwd: string, argv: string[]): void {
  const r = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
}

/** A bench dir whose project root is a git repository with one commit. */
function gitBench(): Bench {
  const b = benchDir("merge");
  sh(b.root, ["git", "init", "-q", "-b", "main"]);
  sh(b.root, ["git", "config", "user.name", "bench"]);
  sh(b.root, ["git", "config", "user.email", "bench@localhost"]);
  writeFileSync(join(b.root, ".git/info/exclude"), ".bin/\n");
  writeFileSync(join(b.root, "README.md"), "bench\n");
  sh(b.root, ["git", "add", "-A"]);
  sh(b.root, ["git", "commit", "-q", "-m", "initial"]);
  return b;
}

function firstStart(dir: string): number | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, "fake-claude.calls.jsonl"), "utf8").split("\n")[0]!).ts as number;
  } catch {
    return undefined;
  }
}

/** The session's worktree (where its agent runs), from its session.json. */
function cwdOf(dir: string): string {
  return JSON.parse(readFileSync(join(dir, "session.json"), "utf8")).git.cwd as string;
}

export async function mergeBench(samples = 30, burst = 20): Promise<Row[]> {
  ensureBinary();
  const b = gitBench();
  try {
    cli(b, ["team", "start", "Merge bench"]);
    const o = orchestrate(b, [], { CLAUDE_WRAPPER_COMPLETION_GRACE_MS: "0" });
    try {
      const mgr = await o.next((e) => e.event === "idle" && e.persona === "engineering-manager");
      await o.next((e) => e.event === "idle" && e.persona === "solutions-architect");
      const start: number[] = [];
      const merged: number[] = [];
      const archived: number[] = [];
      const request = (name: string, i: number) => {
        const req = join(b.workspace, `intern-request-${name}`);
        sh(b.workspace, ["mkdir", req]);
        writeFileSync(join(req, "instructions.md"), `## Instructions from ${mgr.session}\n\nTask ${i}\n`);
      };
      for (let i = 0; i < samples; i++) {
        const name = `s${i}`;
        request(name, i);
        const t0 = Date.now();
        const spawned = await o.next((e) => e.event === "spawned" && e.name === name);
        const dir = join(b.workspace, spawned.session);
        start.push((await poll("the agent's start record", () => firstStart(dir), 10_000)) - t0);
        await o.next((e) => e.event === "idle" && e.session === spawned.session);
        writeFileSync(join(cwdOf(dir), `${name}.txt`), `${name}\n`);
        writeFileSync(join(dir, "tasks.md"), COMPLETE);
        const t1 = Date.now();
        merged.push(Date.parse((await o.next((e) => e.event === "merged" && e.session === spawned.session)).ts) - t1);
        archived.push(Date.parse((await o.next((e) => e.event === "archived" && e.session === spawned.session)).ts) - t1);
      }

      // N sessions completing at once: one merge at a time.
      const names = Array.from({ length: burst }, (_, i) => `q${i}`);
      names.forEach((n, i) => request(n, i));
      const ids = await Promise.all(names.map((n) => o.next((e) => e.event === "idle" && e.name === n).then((e) => e.session as string)));
      for (const id of ids) writeFileSync(join(cwdOf(join(b.workspace, id)), `${id}.txt`), "x\n");
      const t2 = Date.now();
      for (const id of ids) writeFileSync(join(b.workspace, id, "tasks.md"), COMPLETE);
      const last = await Promise.all(ids.map((id) => o.next((e) => e.event === "archived" && e.session === id, 120_000)));
      const all = Math.max(...last.map((e) => Date.parse(e.ts))) - t2;

      const rows: Row[] = [];
      for (const p of [50, 99] as const) rows.push({ section: "merge", metric: `request → agent start, worktree made first, p${p} (n=${samples})`, value: ms(percentile(start, p)) });
      for (const p of [50, 99] as const) rows.push({ section: "merge", metric: `tasks completed → merged p${p} (n=${samples})`, value: ms(percentile(merged, p)) });
      for (const p of [50, 99] as const) rows.push({ section: "merge", metric: `tasks completed → archived (worktree removed) p${p}`, value: ms(percentile(archived, p)) });
      rows.push({ section: "merge", metric: `${burst} sessions completing at once → all merged and archived`, value: `${(all / 1000).toFixed(2)} s (${ms(all / burst)} per merge)` });
      return rows;
    } finally {
      await o.stop();
    }
  } finally {
    b.cleanup();
  }
}

if (import.meta.main) printTable(await mergeBench(Number(process.argv[2] ?? 30), Number(process.argv[3] ?? 20)));
