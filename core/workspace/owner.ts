import { unlinkSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { readJson, writeJsonAtomic } from "../base/fsx";
import { isOurProcess, processStartTime } from "../processes/proc";

/**
 * `<workspace>/.orchestrator.json` names the running orchestrator, so `team status` can show it
 * and `team stop` can signal it. PID + kernel start time: a PID reused by another program after
 * the orchestrator died is never taken for it (and never signalled).
 */
export interface OrchestratorPid {
  pid: number;
  startTime: string;
  startedAt: string;
  version: string;
}

export const ORCHESTRATOR_PID_FILE = ".orchestrator.json";

export function orchestratorPidPath(workspace: string): string {
  return join(workspace, ORCHESTRATOR_PID_FILE);
}

/** Record the calling process as the workspace's orchestrator (atomic: readers never see half). */
export function writeOrchestratorPid(workspace: string, version: string = pkg.version): OrchestratorPid {
  const rec: OrchestratorPid = {
    pid: process.pid,
    startTime: processStartTime(process.pid) ?? "",
    startedAt: new Date().toISOString(),
    version,
  };
  writeJsonAtomic(orchestratorPidPath(workspace), rec);
  return rec;
}

/** The recorded orchestrator, live or not; undefined when the file is missing or malformed. */
export function readOrchestratorPid(workspace: string): OrchestratorPid | undefined {
  const raw = readJson<Partial<OrchestratorPid>>(orchestratorPidPath(workspace));
  if (!raw || typeof raw !== "object" || typeof raw.pid !== "number" || !Number.isInteger(raw.pid) || raw.pid <= 1) {
    return undefined;
  }
  return {
    pid: raw.pid,
    startTime: typeof raw.startTime === "string" ? raw.startTime : "",
    startedAt: typeof raw.startedAt === "string" ? raw.startedAt : "",
    version: typeof raw.version === "string" ? raw.version : "",
  };
}

/** The recorded orchestrator if that very process is still running. */
export function liveOrchestrator(workspace: string): OrchestratorPid | undefined {
  const rec = readOrchestratorPid(workspace);
  return rec && isOurProcess(rec.pid, rec.startTime) ? rec : undefined;
}

/**
 * Remove the pid file. With `pid`, only when the file still names that process: an exiting
 * orchestrator must not delete the record of one that took over after it.
 */
export function removeOrchestratorPid(workspace: string, pid?: number): void {
  if (pid !== undefined && readOrchestratorPid(workspace)?.pid !== pid) return;
  try {
    unlinkSync(orchestratorPidPath(workspace));
  } catch {}
}
