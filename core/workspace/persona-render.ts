/**
 * Rendering a persona template for one session: the `{{placeholders}}` a template may use and the
 * shell recipes (request a teammate, assign work, ask a question) an agent copies from it.
 */
import { join, relative } from "node:path";
import { AGENT_BIN_DIR, SELF_NAME } from "../agents/self";
import type { Workplace } from "../git/integrate";
import type { Persona } from "./personas";
import { ROSTER_FILE } from "./paths";

/** A member laid out with this session by `team start` (what the manager is told it has). */
export interface Teammate {
  id: string;
  name: string;
  persona: string;
  dir: string;
  /** What it does first, in a few words ("waiting for its first assignment from you"). */
  note?: string;
}

export interface RenderContext {
  sessionId: string;
  sessionDir: string;
  workspace: string;
  projectRoot: string;
  name: string;
  goal: string;
  requestedBy: string | null;
  personas: Map<string, Persona>;
  /** The team's engineering-manager session, when there is one. */
  manager?: string | null;
  /** The members `team start` laid out with this one; undefined for a session made later. */
  teammates?: Teammate[];
  /** Its git worktree and branch, when it gets one (see usesWorktree); else it runs in the project root. */
  workplace?: Workplace;
}

/** Every placeholder a template may use, with what it becomes (the README lists them). */
export const PLACEHOLDERS: Record<string, string> = {
  sessionId: "the session's id (`software-engineer-1764072000456`)",
  name: "its short name (`engineer-1`, or the request's name)",
  persona: "the persona's name",
  label: "the persona's label",
  sessionDir: "the session dir (absolute)",
  workspace: "the workspace (absolute)",
  workspaceRel: "the workspace relative to the project root (`.database`)",
  projectRoot: "the project root (the user's checkout)",
  worktree: "where the agent runs: its git worktree (the project root's place in it), else the project root",
  branch: "its git branch, when it has a worktree",
  teamBranch: "the team's integration branch, where finished work is merged",
  workplace: "a paragraph: where it works, and (with a worktree) how to commit and how its work is merged",
  delivery: "a paragraph: where finished work arrives and how the user takes it (for the manager's summary)",
  goal: "the team goal",
  requestedBy: 'the session id of whoever requested it, or "the user"',
  reportsTo: "who is told when it completes: its requester, else the team's manager, else the user",
  manager: "the team's engineering-manager session id",
  rosterPath: "ROSTER.md: everyone on the team, status, tasks, cost, model, dirs",
  teammates: "who `team start` laid out with it (or a pointer to the roster)",
  requestableList: "the personas it may request, one per line",
  requestExample: "the shell lines that request a teammate",
  assignExample: "the shell lines that give an existing teammate work (`claude-wrapper tell`)",
  askExample: "how to ask whoever it reports to a question",
  cli: "the absolute path of the `claude-wrapper` command agents may run",
};

/** Single-quote for a POSIX shell: the path may hold spaces, and `<short-name>` must not redirect. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The shell lines an agent runs to ask for a teammate: relative to the project root where it runs
 * there, else (from a worktree, where `.database` is not below the cwd) the workspace's absolute path.
 */
export function requestExample(workspace: string, persona: string, sessionId: string): string {
  const dir = `${workspace}/${persona}-request-<short-name>`;
  return [
    `mkdir -p ${shellQuote(dir)}`,
    `cat > ${shellQuote(`${dir}/instructions.md`)} <<'EOF'`,
    `## Instructions from ${sessionId}`,
    "",
    "<what you need done, the files involved, and how you will know it is finished>",
    "EOF",
  ].join("\n");
}

/**
 * The shell lines that give an existing teammate work: `tell` appends an `## Instructions from
 * <your session id>` block to its instructions.md under the file's lock (it reads the id from
 * CLAUDE_WRAPPER_SESSION_ID), and the orchestrator wakes it if it is idle.
 */
export function assignExample(target: string, what = "<the work: the outcome wanted, the files involved, the check that proves it is done>"): string {
  return [`${SELF_NAME} tell ${target} - <<'EOF'`, what, "EOF"].join("\n");
}

function teammatesText(ctx: RenderContext, rosterPath: string): string {
  const joined = `Teammates who join later, and what everyone is doing now, are in \`${rosterPath}\`.`;
  if (!ctx.teammates) return `You joined a team that was already working: \`${rosterPath}\` lists who is on it, what each is doing and who is idle.`;
  const others = ctx.teammates.filter((t) => t.id !== ctx.sessionId);
  if (!others.length) return `Nobody else was set up with you. ${joined}`;
  const lines = others.map((t) => {
    const label = ctx.personas.get(t.persona)?.label ?? t.persona;
    return `- **${t.name}** (\`${t.id}\`, ${label}; dir \`${t.dir}\`)${t.note ? `: ${t.note}` : ""}`;
  });
  return [...lines, "", joined].join("\n");
}

/** The teammate the assign recipe names: one it would hand work to (an engineer, else an intern). */
function assignTarget(persona: Persona, ctx: RenderContext): Teammate | undefined {
  const others = (ctx.teammates ?? []).filter((t) => t.id !== ctx.sessionId && t.id !== ctx.manager);
  const preferred = ["software-engineer", "intern"].filter((p) => persona.canRequest.includes(p));
  for (const p of preferred) {
    const t = others.find((o) => o.persona === p);
    if (t) return t;
  }
  return others[0];
}

/** One paragraph each (joined with spaces: a path breaks no line in the middle of a sentence). */
function workplaceText(ctx: RenderContext): string {
  const w = ctx.workplace;
  if (!w) {
    return [
      `You work in the project root \`${ctx.projectRoot}\` (your current directory), which your teammates share: change only the files your`,
      "work needs, and run no git command that changes the checkout (commit, reset, checkout, stash) unless you are asked to.",
    ].join(" ");
  }
  return [
    `You work in a git worktree of your own, \`${w.cwd}\` (your current directory), on the branch \`${w.branch}\`, forked`,
    `from the team branch \`${w.integration}\`. Edit, build and test there, and commit as you go: small commits with messages that`,
    `say what and why (\`git add -A && git commit -m "…"\`). Never change the project root \`${ctx.projectRoot}\`: it is the user's`,
    `checkout. When all your tasks are completed the orchestrator commits anything you left and merges your branch into`,
    `\`${w.integration}\`; if that conflicts with work merged there meanwhile, you are told which files and how to resolve it.`,
    `Teammates' finished work is on \`${w.integration}\`: \`git merge ${w.integration}\` in your worktree brings it in.`,
  ].join(" ");
}

function deliveryText(ctx: RenderContext): string {
  const w = ctx.workplace;
  if (!w) return `Teammates change the project root \`${ctx.projectRoot}\` directly: your summary lists the files they changed.`;
  return [
    `Each teammate works on its own branch (\`claude-wrapper/<its session id>\`); when it completes, the orchestrator merges`,
    `that branch into the team branch \`${w.integration}\` and tells you the merge commit and the files it changed. The`,
    `user's checkout is never changed: \`git log --stat ${w.integration}\` shows what has landed, and the user takes all`,
    `of it with \`git merge ${w.integration}\`. Your final summary names the team branch and says exactly that.`,
  ].join(" ");
}

/** Fill `{{placeholders}}` in a persona body. Unknown ones (also `{{constructor}}`) stay as written. */
export function renderPersona(persona: Persona, ctx: RenderContext): string {
  const rel = relative(ctx.projectRoot, ctx.workspace) || ".";
  const requestable = persona.canRequest.filter((p) => ctx.personas.has(p));
  const requestableList = requestable.length
    ? requestable.map((p) => `- \`${p}\` (${ctx.personas.get(p)!.label})`).join("\n")
    : "- nobody: you do the work yourself and report to whoever asked for it.";
  const manager = ctx.manager && ctx.manager !== ctx.sessionId ? ctx.manager : null;
  const reportsTo = ctx.requestedBy ?? manager;
  const rosterPath = join(ctx.workspace, ROSTER_FILE);
  const target = assignTarget(persona, ctx);
  const askExample = reportsTo
    ? assignExample(reportsTo, "<your question, what you tried, and what you need to go on>")
    : "You report to the user, who reads your files: write the question under the task you mark `blocked`, then end your turn.";
  const values: Record<string, string> = {
    sessionId: ctx.sessionId,
    name: ctx.name,
    persona: persona.name,
    label: persona.label,
    sessionDir: ctx.sessionDir,
    workspace: ctx.workspace,
    workspaceRel: rel,
    projectRoot: ctx.projectRoot,
    worktree: ctx.workplace?.cwd ?? ctx.projectRoot,
    branch: ctx.workplace?.branch ?? "(none: you work in the project root)",
    teamBranch: ctx.workplace?.integration ?? "(none: the team works in the project root)",
    workplace: workplaceText(ctx),
    delivery: deliveryText(ctx),
    goal: ctx.goal || "(no team goal recorded)",
    requestedBy: ctx.requestedBy ?? "the user",
    reportsTo: !reportsTo ? "the user" : reportsTo === manager ? `the engineering manager (${manager})` : reportsTo,
    manager: manager ?? (ctx.manager === ctx.sessionId ? ctx.sessionId : "(no engineering manager on the team: see the roster)"),
    rosterPath,
    teammates: teammatesText(ctx, rosterPath),
    requestableList,
    requestExample: requestExample(ctx.workplace ? ctx.workspace : rel, requestable[0] ?? "software-engineer", ctx.sessionId),
    assignExample: assignExample(target?.name ?? "<teammate name or session id>"),
    askExample,
    cli: join(ctx.workspace, AGENT_BIN_DIR, SELF_NAME),
  };
  // `<!-- … -->` comments are notes for whoever edits the template, not for the agent.
  const body = persona.body.replace(/<!--[\s\S]*?-->/g, "");
  return body.replace(/\{\{\s*(\w+)\s*\}\}/g, (all, key: string) => (Object.hasOwn(values, key) ? values[key]! : all));
}
