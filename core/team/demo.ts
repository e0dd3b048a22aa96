import { mkdtempSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selfArgv } from "../agents/sim";
import type { Emit } from "../supervisor/events";
import { Orchestrator } from "../supervisor/orchestrator";
import { readAllSessions } from "../workspace/store";
import { startTeam } from "./start";

export const DEMO_GOAL = "Build a command-line greeter that says hello in three languages";

/** Pause multiplier of the simulated agents for `demo --slow`: about a minute, long enough to watch. */
export const SLOW_PACE = 80;

export interface DemoResult {
  workspace: string;
  archived: number;
  costUsd: number;
  seconds: number;
  finished: boolean;
}

/** A fresh workspace in a new temp dir (kept afterwards, so it can be looked at). */
export function newDemoWorkspace(): string {
  return join(mkdtempSync(join(tmpdir(), "claude-wrapper-demo-")), ".database");
}

/**
 * The whole lifecycle in a workspace of its own with the built-in simulated agent: the real
 * orchestrator, real files, real events. Ends when every session is archived (or at the limit).
 * `pace` slows the simulated agents (they inherit this process's environment).
 */
export async function runDemo(opts: { emit: Emit; warn: (m: string) => void; timeoutMs: number; workspace: string; pace?: number }): Promise<DemoResult> {
  const started = performance.now();
  const { workspace } = opts;
  if (opts.pace !== undefined) process.env.CLAUDE_WRAPPER_SIM_PACE = String(opts.pace);
  await startTeam(workspace, DEMO_GOAL, 0, 0);

  let done!: () => void;
  const allArchived = new Promise<void>((r) => (done = r));
  const emit: Emit = (event, fields) => {
    opts.emit(event, fields);
    if (event === "archived" && readAllSessions(workspace).length === 0) done();
  };
  const orchestrator = new Orchestrator({ workspace, maxAgents: 0, budgetUsd: 0, skipPermissions: false, agent: "sim", emit, warn: opts.warn });
  await orchestrator.start();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const finished = await Promise.race([
    allArchived.then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), opts.timeoutMs))),
  ]);
  clearTimeout(timer);
  await orchestrator.shutdown();

  const all = readAllSessions(workspace, true);
  return {
    workspace,
    archived: all.filter((s) => s.archived).length,
    costUsd: all.reduce((sum, s) => sum + s.rec.costUsd, 0),
    seconds: (performance.now() - started) / 1000,
    finished,
  };
}

/** A word as a POSIX shell reads it back unchanged. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function realOrSame(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * How to run this very program, as a command a person can paste: `claude-wrapper` when that name
 * on PATH is this binary, else its absolute path (from source: Bun and the absolute cli.ts).
 */
export function selfCommand(): string {
  const argv = selfArgv();
  const onPath = Bun.which("claude-wrapper");
  if (argv.length === 1 && onPath && realOrSame(onPath) === realOrSame(argv[0]!)) return "claude-wrapper";
  return argv.map(shellQuote).join(" ");
}
