import { createLog, log } from "../cli/output";
import { formatBudget, formatCost, formatDuration, plural } from "../base/format";

export type EventName =
  | "started"
  | "spawned"
  | "adopted"
  | "exited"
  | "idle"
  | "resumed"
  | "restarting"
  | "failed"
  | "completed"
  | "archived"
  | "request-rejected"
  | "budget-exhausted"
  | "stopped"
  | "team-done"
  | "merged"
  | "merge-conflict"
  | "verify-failed";

export interface OrchestratorEvent {
  ts: string;
  event: EventName;
  session?: string;
  persona?: string;
  name?: string;
  pid?: number | null;
  [key: string]: unknown;
}

export type Emit = (event: EventName, fields?: Omit<Partial<OrchestratorEvent>, "ts" | "event">) => void;

/** How a line of the log reads: news, or something that went wrong (which the fix follows). */
type Human = { text: string; failure?: boolean; warning?: boolean };

function list(v: unknown, max = 5): string {
  const items = Array.isArray(v) ? v.map(String) : [];
  return items.length > max ? `${items.slice(0, max).join(", ")}, … (${items.length - max} more)` : items.join(", ");
}

/** The seed's lines, one per event; a normal end is news, not a warning. */
export function humanLine(e: OrchestratorEvent): Human {
  const who = e.session ? `${e.session}${e.name && e.name !== e.session ? ` (${e.name})` : ""}` : "";
  switch (e.event) {
    case "started":
      return { text: `👀 Orchestrator ${e.pid} watching ${e.workspace}${e.maxAgents ? ` (max ${e.maxAgents} agents)` : ""}` };
    case "spawned":
      return { text: `🚀 Spawning ${who}${e.resume ? " (resume)" : ""}\n✅ Session ${e.session} started (PID ${e.pid})` };
    case "adopted":
      return { text: `🤝 Adopted running agent of ${who} (PID ${e.pid})` };
    case "resumed":
      return { text: `🔁 Resuming ${who}: ${e.reason ?? "new instructions"}` };
    case "exited":
      if (e.stoppedBy === "orchestrator") return { text: `⏹️  Stopped the agent of ${who} (PID ${e.pid ?? "?"}): its tasks are done` };
      if (e.code === 0 && !e.signal) return { text: `🏁 ${who} finished its turn (PID ${e.pid ?? "?"}, exit 0)` };
      return { text: `Process ${e.pid ?? "?"} of ${who} exited (${e.signal ? `signal ${e.signal}` : `code ${e.code ?? "unknown"}`})`, warning: true };
    case "idle":
      return { text: `💤 ${who} is idle: its turn ended with tasks open; new instructions wake it` };
    case "restarting":
      return { text: `🔄 Restarting ${who} in ${Math.round(Number(e.delayMs ?? 0))} ms (attempt ${e.attempt})` };
    case "failed":
      return { text: `${who} failed: ${e.reason}`, failure: true };
    case "completed":
      return { text: `🎉 All tasks completed in ${who}` };
    case "archived":
      return { text: `📦 Archived to ${e.archive}` };
    case "request-rejected":
      // JSON-quoted: a request dir's name is anyone's text (a newline in it must not forge a line).
      return { text: `Request ${JSON.stringify(e.request)} left untouched: ${e.reason}`, failure: true };
    case "budget-exhausted":
      return { text: `💸 Budget of ${formatBudget(Number(e.budgetUsd))} reached (${formatCost(Number(e.costUsd))} spent): nothing more is started or resumed` };
    case "stopped":
      return { text: e.session ? `🛑 Stopped ${who}` : `🛑 Orchestrator stopped` };
    case "team-done": {
      const cost = typeof e.costUsd === "number" ? `, ${formatCost(e.costUsd)}` : "";
      const took = typeof e.elapsedMs === "number" ? ` in ${formatDuration(e.elapsedMs)}` : "";
      const summary = e.summary ? `; summary: ${e.summary}` : "";
      return { text: `🏆 Team done${took}${cost}: ${e.manager ?? e.session ?? "the manager"} completed its tasks${summary}` };
    }
    case "merged": {
      const files = Array.isArray(e.files) ? ` (${plural(e.files.length, "file")})` : "";
      const commit = e.commit ? ` as ${String(e.commit).slice(0, 12)}` : "";
      return { text: `🔀 Merged ${who} into ${e.into ?? "the team branch"}${commit}${files}` };
    }
    case "merge-conflict":
      return { text: `${who}'s branch conflicts with ${e.into ?? "the team branch"}${Array.isArray(e.files) ? ` in ${list(e.files)}` : ""}: the session is reopened to resolve it`, failure: true };
    case "verify-failed": {
      const tail = typeof e.tail === "string" && e.tail.trim() ? `:\n${e.tail.trimEnd().split("\n").slice(-10).join("\n")}` : "";
      return { text: `${who}'s branch failed the verify command on its merge into ${e.into ?? "the team branch"}: the session is reopened${tail}`, failure: true };
    }
    default:
      // An event this build has no line for yet still says what happened.
      return { text: `• ${e.event}${who ? ` ${who}` : ""}` };
  }
}

/**
 * Where the orchestrator's events go: JSON lines on stdout, or the timestamped human log (also
 * on stdout, so `orchestrate > team.log` keeps every line in order, failures included).
 */
export function createEmitter(json: boolean): Emit {
  return (event, fields = {}) => {
    const e: OrchestratorEvent = { ts: new Date().toISOString(), event, ...fields };
    if (json) {
      process.stdout.write(`${JSON.stringify(e)}\n`);
      return;
    }
    const line = humanLine(e);
    if (line.failure) log().fail(line.text);
    else if (line.warning) log().warn(line.text);
    else log().log(line.text);
  };
}

/**
 * Where the orchestrator's own warnings go: the human log, or (beside JSON events on stdout) the
 * same timestamped lines on stderr.
 */
export function createWarn(json: boolean): (message: string) => void {
  const out = json ? createLog(process.stderr) : log();
  return (message) => out.warn(message);
}
