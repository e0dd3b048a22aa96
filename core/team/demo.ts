import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Emit } from "../supervisor/events";
import { Orchestrator } from "../supervisor/orchestrator";
import { readAllSessions } from "../workspace/store";
import { startTeam } from "./start";

export const DEMO_GOAL = "Build a command-line greeter that says hello in three languages";

export interface DemoResult {
  workspace: string;
  archived: number;
  costUsd: number;
  seconds: number;
  finished: boolean;
}

/**
 * The whole lifecycle in a temp workspace with the built-in simulated agent: the real
 * orchestrator, real files, real events. Ends when every session is archived (or at the limit).
 */
export async function runDemo(opts: { emit: Emit; warn: (m: string) => void; timeoutMs: number; workspace?: string }): Promise<DemoResult> {
  const started = performance.now();
  const workspace = opts.workspace ?? join(mkdtempSync(join(tmpdir(), "claude-wrapper-demo-")), ".database");
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
