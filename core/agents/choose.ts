/**
 * Which agent CLI and model run a session, decided in one place. Precedence, highest first:
 * `orchestrate --agent`, the workspace persona file (`<workspace>/personas/<p>.md`), the team
 * (`team start --agent/--model`, `--model-for`), the built-in persona, then claude with its own
 * default model.
 *
 * A model belongs to an agent: a layer's `model` is used only when that layer names no agent or
 * names the chosen one, so `orchestrate --agent codex` never hands codex a Claude model name.
 */
import type { Persona } from "../workspace/personas";
import type { TeamRecord } from "../workspace/team-file";
import { UserError } from "../base/errors";
import { knownRunners, runnerFor } from "./index";
import type { AgentRunner } from "./types";

export interface AgentChoice {
  runner: AgentRunner;
  model?: string;
  /** Which layer decided the agent (for `doctor` and messages). */
  agentFrom: "run" | "persona file" | "team" | "persona" | "default";
}

interface Layer {
  from: AgentChoice["agentFrom"];
  agent?: string;
  model?: string;
}

export interface ChooseInput {
  /** `orchestrate --agent`. */
  runFlag?: string;
  team?: Pick<TeamRecord, "agent" | "model" | "modelFor">;
  persona: Pick<Persona, "name" | "source" | "agent" | "model"> & { declaredAgent?: string };
}

/** The layers that speak for a persona, highest first. */
function layers({ runFlag, team, persona }: ChooseInput): Layer[] {
  const own = { agent: persona.declaredAgent, model: persona.model };
  const teamModel = team?.modelFor?.[persona.name] ?? team?.model;
  return [
    { from: "run", agent: runFlag || undefined },
    ...(persona.source === "workspace" ? [{ from: "persona file" as const, ...own }] : []),
    { from: "team", agent: team?.agent || undefined, model: teamModel || undefined },
    ...(persona.source === "built-in" ? [{ from: "persona" as const, ...own }] : []),
  ];
}

export function chooseAgent(input: ChooseInput): AgentChoice {
  const all = layers(input);
  const decided = all.find((l) => l.agent);
  const agent = decided?.agent ?? "claude";
  const model = all.find((l) => l.model && (!l.agent || l.agent === agent))?.model;
  return { runner: runnerFor(agent), model, agentFrom: decided?.from ?? "default" };
}

/** The agent CLIs a team will run (one per persona that can be started), for preflight and doctor. */
export function agentsInUse(personas: Iterable<ChooseInput["persona"]>, team?: ChooseInput["team"], runFlag?: string): AgentRunner[] {
  const out = new Map<string, AgentRunner>();
  for (const persona of personas) {
    let choice: AgentChoice;
    try {
      choice = chooseAgent({ runFlag, team, persona });
    } catch {
      // An unknown `agent:` is the persona check's to report; it cannot be run anyway.
      continue;
    }
    out.set(choice.runner.name, choice.runner);
  }
  if (!out.size) out.set("claude", runnerFor("claude"));
  return [...out.values()];
}

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@[\]+-]{0,199}$/;

/** A model name from the command line: one word a CLI can take (`--model=<it>`), or one clear line. */
export function validateModel(flag: string, raw: string | undefined): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  const m = String(raw).trim();
  if (!MODEL_NAME.test(m)) throw new UserError(`--${flag} "${raw}" is not a model name (letters, digits and . _ : / @ [ ] + -, starting with a letter or digit)`);
  return m;
}

/** An agent name from the command line (`--agent`), or one clear line naming the known ones. */
export function validateAgent(flag: string, raw: string | undefined): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  const name = String(raw).trim();
  try {
    return runnerFor(name).name;
  } catch {
    throw new UserError(`--${flag} "${raw}" is not an agent this tool can run (known: ${knownRunners().join(", ")})`);
  }
}
