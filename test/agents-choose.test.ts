/**
 * The two pure decisions behind every run: which agent CLI and model (chooseAgent's precedence),
 * and whether the run continues the conversation or starts an honest fresh one (planConversation).
 */
import { describe, expect, test } from "bun:test";
import { agentsInUse, chooseAgent, validateAgent, validateModel } from "../core/agents/choose";
import { runnerFor } from "../core/agents/index";
import { planConversation } from "../core/agents/plan-turn";
import { UserError } from "../core/base/errors";

type P = Parameters<typeof chooseAgent>[0]["persona"];
const builtIn: P = { name: "intern", source: "built-in", agent: "claude", declaredAgent: "claude" };
const fileCodex: P = { name: "intern", source: "workspace", agent: "codex", declaredAgent: "codex", model: "gpt-5-codex" };
const fileNoAgent: P = { name: "intern", source: "workspace", agent: "claude", model: "o4-mini" };
const fileClaude: P = { name: "intern", source: "workspace", agent: "claude", declaredAgent: "claude", model: "haiku" };

describe("chooseAgent: orchestrate --agent > persona file > team > built-in persona", () => {
  const rows: Array<[string, Parameters<typeof chooseAgent>[0], string, string | undefined, string]> = [
    ["nothing said: the built-in persona's claude", { persona: builtIn }, "claude", undefined, "persona"],
    ["a new persona with no agent: claude by default", { persona: { name: "reviewer", source: "workspace", agent: "claude" } }, "claude", undefined, "default"],
    ["team start --agent beats the built-in persona", { persona: builtIn, team: { agent: "codex", model: "gpt-5" } }, "codex", "gpt-5", "team"],
    ["--model-for beats the team's model", { persona: builtIn, team: { agent: "codex", model: "gpt-5", modelFor: { intern: "gpt-5-mini" } } }, "codex", "gpt-5-mini", "team"],
    ["a persona file beats the team", { persona: fileCodex, team: { agent: "gemini", model: "gemini-2.5-pro" } }, "codex", "gpt-5-codex", "persona file"],
    ["a persona file naming no agent keeps the team's agent and gives its model", { persona: fileNoAgent, team: { agent: "codex", model: "gpt-5" } }, "codex", "o4-mini", "team"],
    ["a persona file naming claude wins over a codex team", { persona: fileClaude, team: { agent: "codex", model: "gpt-5" } }, "claude", "haiku", "persona file"],
    ["orchestrate --agent beats everything", { runFlag: "gemini", persona: fileCodex, team: { agent: "codex" } }, "gemini", undefined, "run"],
    ["--agent keeps a model that names no agent", { runFlag: "gemini", persona: builtIn, team: { model: "gemini-2.5-flash" } }, "gemini", "gemini-2.5-flash", "run"],
    ["--agent never hands a codex model to claude", { runFlag: "claude", persona: fileCodex }, "claude", undefined, "run"],
  ];
  for (const [what, input, agent, model, from] of rows) {
    test(what, () => {
      const c = chooseAgent(input);
      expect({ agent: c.runner.name, model: c.model, from: c.agentFrom as string }).toEqual({ agent, model, from });
    });
  }

  test("agentsInUse: one runner per CLI the personas choose; unknown agents are skipped, claude when empty", () => {
    const names = (rs: ReturnType<typeof agentsInUse>) => rs.map((r) => r.name);
    expect(names(agentsInUse([builtIn, fileCodex]))).toEqual(["claude", "codex"]);
    expect(names(agentsInUse([builtIn, fileCodex], undefined, "gemini"))).toEqual(["gemini"]);
    expect(names(agentsInUse([{ ...builtIn, declaredAgent: "aider" }]))).toEqual(["claude"]);
    expect(names(agentsInUse([]))).toEqual(["claude"]);
  });

  test("flags: unknown agents and odd model names are one clear line", () => {
    expect(validateAgent("agent", "codex")).toBe("codex");
    expect(() => validateAgent("agent", "aider")).toThrow(UserError);
    expect(validateModel("model", "claude-sonnet-4-5[1m]")).toBe("claude-sonnet-4-5[1m]");
    expect(validateModel("model", "llama3.1:8b")).toBe("llama3.1:8b");
    for (const bad of ["-x", "a b", "x\ny", "$(rm)"]) expect(() => validateModel("model", bad)).toThrow(UserError);
  });
});

describe("planConversation", () => {
  const ids = () => {
    let n = 0;
    return () => `new-${++n}`;
  };
  const U = "01a21d4a-298f-7483-90d2-8b4826343627";
  const none: { agentSessionId: string | null; finishedConversations: string[] } = { agentSessionId: null, finishedConversations: [] };
  const rec = (runs: number, agentSessionId: string | null, agent?: string) => ({ runs, agentSessionId, agent });
  const rows: Array<[string, string, ReturnType<typeof rec>, typeof none, { first: boolean; agentSessionId: string | null; fresh: boolean }]> = [
    ["claude, first run: a new id", "claude", rec(0, null), none, { first: true, agentSessionId: "new-1", fresh: false }],
    ["claude, an interrupted start's id is kept", "claude", rec(0, "kept"), none, { first: true, agentSessionId: "kept", fresh: false }],
    ["claude resumes after any run, even a failed one", "claude", rec(1, "c1", "claude"), none, { first: false, agentSessionId: "c1", fresh: false }],
    ["a session from before `agent` was recorded ran claude", "claude", rec(2, "c1"), none, { first: false, agentSessionId: "c1", fresh: false }],
    ["codex, first run: it reports the id", "codex", rec(0, null), none, { first: true, agentSessionId: null, fresh: false }],
    ["codex resumes the thread it reported", "codex", rec(1, null, "codex"), { agentSessionId: U, finishedConversations: [] }, { first: false, agentSessionId: U, fresh: false }],
    ["codex that died before reporting one: fresh start", "codex", rec(1, null, "codex"), none, { first: true, agentSessionId: null, fresh: true }],
    ["gemini resumes a conversation with a finished turn", "gemini", rec(1, "g1", "gemini"), { agentSessionId: "g1", finishedConversations: ["g1"] }, { first: false, agentSessionId: "g1", fresh: false }],
    ["gemini after a failed first turn: fresh start under a new id", "gemini", rec(1, "g1", "gemini"), { agentSessionId: "g1", finishedConversations: [] }, { first: true, agentSessionId: "new-1", fresh: true }],
    ["a session moved from claude to codex starts fresh", "codex", rec(3, "c1", "claude"), { agentSessionId: "c1", finishedConversations: ["c1"] }, { first: true, agentSessionId: null, fresh: true }],
    ["a legacy claude session now run by gemini starts fresh", "gemini", rec(3, "c1"), { agentSessionId: "c1", finishedConversations: ["c1"] }, { first: true, agentSessionId: "new-1", fresh: true }],
  ];
  for (const [what, agent, r, log, want] of rows) {
    test(what, () => {
      const p = planConversation(runnerFor(agent), r, log, ids());
      expect({ first: p.first, agentSessionId: p.agentSessionId, fresh: !!p.fresh }).toEqual(want);
    });
  }
});
