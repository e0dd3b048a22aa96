import { UserError } from "../base/errors";
import { claudeRunner } from "./claude";
import { codexRunner } from "./codex";
import type { LogDialect } from "./dialect";
import { geminiRunner } from "./gemini";
import { simRunner } from "./sim";
import type { AgentRunner } from "./types";

export type { AgentRunner, AgentTurn } from "./types";

const RUNNERS: Record<string, AgentRunner> = {
  claude: claudeRunner,
  codex: codexRunner,
  gemini: geminiRunner,
  sim: simRunner,
};

export function knownRunners(): string[] {
  return Object.keys(RUNNERS);
}

export function isKnownRunner(name: string): boolean {
  return Object.hasOwn(RUNNERS, name);
}

/** The runner for a persona's `agent:` (`claude`, `codex`, `gemini`, `sim`); anything else is the user's mistake. */
export function runnerFor(name: string): AgentRunner {
  const runner = Object.hasOwn(RUNNERS, name) ? RUNNERS[name] : undefined;
  if (!runner) throw new UserError(`unknown agent "${name}" (known agents: ${knownRunners().join(", ")})`);
  return runner;
}

/** The CLI reports tokens and no price (codex, gemini): views say "tokens" instead of a $ figure. */
export function reportsTokensOnly(agent: string | null | undefined): boolean {
  return !!agent && isKnownRunner(agent) && RUNNERS[agent]!.reports === "tokens";
}

const dialects = new Map<string, LogDialect>();

/**
 * How to read a session's agent.jsonl when its latest runs were `agent`'s (null/unknown: Claude's
 * stream-json). Lines of another CLI, from before the session changed agent, are still read as
 * theirs, so the totals of earlier runs stay counted.
 */
export function dialectFor(agent: string | null | undefined): LogDialect {
  const key = agent && isKnownRunner(agent) ? agent : "claude";
  let d = dialects.get(key);
  if (d) return d;
  const own = RUNNERS[key]!;
  const others = Object.values(RUNNERS).filter((r) => r !== own && r.translate);
  d = {
    name: own.name,
    translate(line, state) {
      const mine = own.translate?.(line, state);
      if (mine) return mine;
      for (const r of others) {
        const theirs = r.translate!(line, (state[r.name] ??= {}));
        if (theirs) return theirs;
      }
      return undefined;
    },
    flush: own.flush,
    classifyFailure: own.classifyFailure,
    classifyStderr: own.classifyStderr,
  };
  dialects.set(key, d);
  return d;
}
