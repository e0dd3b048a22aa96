/**
 * Persona templates from `<workspace>/personas/`: an override of a built-in one is what `team
 * start` renders, a new persona is what `createSession` lays out, and a broken file never takes
 * the built-in away. Real processes, real dirs.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, ROOT, type Sandbox, fakeCalls, killWorkspaceProcesses, orchestratorPool, readJsonFile, run, sandboxes, sessionDirs } from "./helpers";

setDefaultTimeout(60_000);
const box = sandboxes("cw-personas-");
const orchestrators = orchestratorPool();
const watched: Sandbox[] = [];
/** `orchestrate --json` in the sandbox; stopped, with every agent it left, after the test. */
const pool = {
  start(sb: Sandbox) {
    watched.push(sb);
    return orchestrators.start(sb);
  },
};
afterEach(async () => {
  await orchestrators.teardown(undefined);
  for (const sb of watched.splice(0)) killWorkspaceProcesses(sb.workspace);
  box.cleanup();
});

const ENGINEER_OVERRIDE = `---
label: custom engineer
canRequest: [intern, qa-engineer]
model: opus
allowedTools: [Read, Bash]
---
# OVERRIDDEN ENGINEER {{sessionId}}

Named {{name}}, working in {{sessionDir}} on: {{goal}}
Asked for by {{requestedBy}}.
You may ask for:
{{requestableList}}

\`\`\`bash
{{requestExample}}
\`\`\`
`;

const QA = `---
label: qa
canRequest:
  - intern
permissionMode: acceptEdits
---
# QA ENGINEER {{sessionId}} ({{label}})

Check the work in {{projectRoot}}. Asked for by {{requestedBy}}. Session dir: {{sessionDir}}.
{{requestableList}}
`;

function personaFiles(sb: Sandbox, files: Record<string, string>): void {
  const dir = join(sb.workspace, "personas");
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

describe("workspace personas", () => {
  test("team start renders an overridden built-in; the others stay built-in", async () => {
    const sb = box();
    personaFiles(sb, { "software-engineer.md": ENGINEER_OVERRIDE, "qa-engineer.md": QA });
    const r = await run(sb, ["team", "start", "the goal", "--engineers", "2", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const engineers = sessionDirs(sb.workspace, "software-engineer");
    expect(engineers).toHaveLength(2);
    for (const id of engineers) {
      const dir = join(sb.workspace, id);
      const pi = readFileSync(join(dir, "persona-instructions.md"), "utf8");
      const name = readJsonFile(join(dir, "session.json")).name;
      expect(pi).toStartWith(`# OVERRIDDEN ENGINEER ${id}\n`);
      expect(pi).toContain(`Named ${name}, working in ${dir} on: the goal`);
      expect(pi).toContain("Asked for by the user.");
      // The requestable list knows the workspace's new persona and its label.
      expect(pi).toContain("- `intern` (intern)");
      expect(pi).toContain("- `qa-engineer` (qa)");
      expect(pi).toContain("mkdir -p '.database/intern-request-<short-name>'");
      expect(pi).not.toMatch(/\{\{[^}]*\}\}/);
      expect(pi).not.toContain("---");
    }
    const mgr = sessionDirs(sb.workspace, "engineering-manager")[0]!;
    const mgrText = readFileSync(join(sb.workspace, mgr, "persona-instructions.md"), "utf8");
    expect(mgrText).toStartWith(`# You are the engineering manager (${mgr})`);
    expect(mgrText).not.toContain("OVERRIDDEN");
  });

  test("createSession lays out a session of a persona that only the workspace defines", async () => {
    const sb = box();
    personaFiles(sb, { "qa-engineer.md": QA });
    const scriptPath = join(sb.root, "create.ts");
    writeFileSync(
      scriptPath,
      `import { createSession } from ${JSON.stringify(join(ROOT, "core/team/start.ts"))};
const s = createSession(process.argv[2], {
  persona: "qa-engineer", name: "qa-login", firstTask: "Test the login form",
  instructions: "Test the login form end to end.", from: "software-engineer-1700000000000",
  requestedBy: "software-engineer-1700000000000", goal: "the goal",
});
console.log(JSON.stringify(s));
`,
    );
    const p = Bun.spawnSync([BUN, scriptPath, sb.workspace], { cwd: sb.root, env: sb.env, stderr: "pipe" });
    expect(p.stderr.toString()).toBe("");
    expect(p.exitCode).toBe(0);
    const created = JSON.parse(p.stdout.toString());
    expect(created.id).toMatch(/^qa-engineer-\d{13}$/);
    expect(created.dir).toBe(join(sb.workspace, created.id));
    expect(sessionDirs(sb.workspace, "qa-engineer")).toEqual([created.id]);

    const s = readJsonFile(join(created.dir, "session.json"));
    expect(s).toMatchObject({ id: created.id, persona: "qa-engineer", name: "qa-login", status: "pending", requestedBy: "software-engineer-1700000000000" });
    const pi = readFileSync(join(created.dir, "persona-instructions.md"), "utf8");
    expect(pi).toStartWith(`# QA ENGINEER ${created.id} (qa)\n`);
    expect(pi).toContain(`Check the work in ${sb.root}.`);
    expect(pi).toContain("Asked for by software-engineer-1700000000000.");
    expect(pi).toContain(`Session dir: ${created.dir}.`);
    expect(pi).toContain("- `intern` (intern)");
    expect(readFileSync(join(created.dir, "tasks.md"), "utf8")).toContain("## Task: Test the login form\n- **Status**: pending");
    expect(readFileSync(join(created.dir, "instructions.md"), "utf8")).toMatch(
      /^## Instructions from software-engineer-1700000000000 \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)\n\nTest the login form end to end\.\n/,
    );

    // A persona nobody defines is refused without leaving a dir behind.
    writeFileSync(scriptPath, readFileSync(scriptPath, "utf8").replace('"qa-engineer"', '"ux-designer"'));
    const bad = Bun.spawnSync([BUN, scriptPath, sb.workspace], { cwd: sb.root, env: sb.env, stderr: "pipe" });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr.toString()).toContain("unknown persona ux-designer");
    expect(sessionDirs(sb.workspace, "ux-designer")).toEqual([]);
  });

  test("a broken override leaves the built-in persona in place", async () => {
    const sb = box();
    personaFiles(sb, {
      "software-engineer.md": "---\nthis is: not: [valid\n  ??\n---\nBROKEN {{sessionId}}\n",
      "intern.md": "\0\0\0binary",
      "not-a-persona.txt": "ignored",
      "Bad Name.md": "---\nlabel: x\n---\nignored",
    });
    const r = await run(sb, ["team", "start", "g", "--engineers", "1", "--interns", "1"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const eng = sessionDirs(sb.workspace, "software-engineer")[0]!;
    const pi = readFileSync(join(sb.workspace, eng, "persona-instructions.md"), "utf8");
    expect(pi).toStartWith(`# You are a software engineer (${eng})`);
    expect(pi).not.toContain("BROKEN");
    const intern = sessionDirs(sb.workspace, "intern")[0]!;
    expect(readFileSync(join(sb.workspace, intern, "persona-instructions.md"), "utf8")).toStartWith(`# You are an intern on the team (${intern})`);
  });
});

/** doctor --json's personas check, with a HOME of its own so the user's login is never read. */
async function doctorPersonas(sb: Sandbox): Promise<{ status: string; detail: string }> {
  const env = { ...sb.env, HOME: join(sb.root, "home") };
  const r = await run({ root: sb.root, env }, ["doctor", "--json"]);
  return JSON.parse(r.stdout).checks.find((c: any) => c.id === "personas");
}

describe("frontmatter is YAML, validated per file", () => {
  test("quoted items, block scalars and list forms read as YAML; a bad item names the file", async () => {
    const sb = box();
    personaFiles(sb, {
      // YAML reads this as two items, "a, b" and intern: "a, b" is no persona name.
      "software-engineer.md": '---\ncanRequest: ["a, b", intern]\n---\nBAD ENGINEER {{sessionId}}\n',
      "qa-engineer.md": "---\nlabel: >-\n  quality\n  engineer\nallowedTools:\n  - Read\n  - Bash(git log:*)\n---\nQA {{label}} {{sessionId}}\n",
    });
    const r = await run(sb, ["team", "start", "g", "--engineers", "1"]);
    expect(r.code).toBe(0);
    const eng = sessionDirs(sb.workspace, "software-engineer")[0]!;
    // The broken override is not used: the built-in engineer runs.
    expect(readFileSync(join(sb.workspace, eng, "persona-instructions.md"), "utf8")).toStartWith("# You are a software engineer");
    const check = await doctorPersonas(sb);
    expect(check.status).toBe("fail");
    expect(check.detail).toContain(`${join(sb.workspace, "personas", "software-engineer.md")}: canRequest holds "a, b"`);
    expect(check.detail).toContain("(the built-in persona is used instead)");
    expect(check.detail).not.toContain("qa-engineer.md");

    // The block scalar and the list made a working persona.
    const created = JSON.parse(
      Bun.spawnSync(
        [BUN, "-e", `import { createSession } from ${JSON.stringify(join(ROOT, "core/team/start.ts"))}; console.log(JSON.stringify(createSession(${JSON.stringify(sb.workspace)}, { persona: "qa-engineer", name: "qa", firstTask: "t", instructions: "t", from: "user", requestedBy: null, goal: "g" })))`],
        { env: sb.env },
      ).stdout.toString(),
    );
    expect(readFileSync(join(created.dir, "persona-instructions.md"), "utf8")).toBe(`QA quality engineer ${created.id}\n`);
  });

  test("doctor: an unknown agent fails naming the file; a new persona has no stand-in; bypassPermissions warns", async () => {
    const sb = box();
    personaFiles(sb, { "reviewer.md": "---\nagent: gpt-9\n---\nREVIEW {{sessionId}}\n" });
    let check = await doctorPersonas(sb);
    expect(check.status).toBe("fail");
    expect(check.detail).toContain(`${join(sb.workspace, "personas", "reviewer.md")}: unknown agent "gpt-9" (known agents: claude, codex, gemini, sim)`);
    expect(check.detail).toContain('(no "reviewer" persona until it is fixed)');
    expect(check.detail).not.toContain("built-in");

    personaFiles(sb, { "reviewer.md": "---\npermissionMode: bypassPermissions\nlabel: 12\n---\nx\n", "intern.md": "---\npermissionMode: bypassPermissions\n---\nINTERN {{sessionId}} {{constructor}}\n" });
    check = await doctorPersonas(sb);
    expect(check.status).toBe("fail");
    expect(check.detail).toContain("reviewer.md: label must be text, got 12");
    expect(check.detail).toContain(`${join(sb.workspace, "personas", "intern.md")}: permissionMode: bypassPermissions lets its agent run any command without asking`);
    expect(check.detail).toContain("intern.md: unknown placeholder {{constructor}} (left as written)");

    personaFiles(sb, { "reviewer.md": "---\nmodle: haiku\n---\nx\n" });
    check = await doctorPersonas(sb);
    expect(check.detail).toContain('reviewer.md: unknown field "modle"');
  });

  test("{{constructor}} and other names outside the placeholder table stay as written", async () => {
    const sb = box();
    personaFiles(sb, { "intern.md": "---\nlabel: intern\n---\nI {{sessionId}} {{constructor}} {{ toString }} {{__proto__}} {{hasOwnProperty}} {{nope}}\n" });
    expect((await run(sb, ["team", "start", "g", "--interns", "1"])).code).toBe(0);
    const id = sessionDirs(sb.workspace, "intern")[0]!;
    expect(readFileSync(join(sb.workspace, id, "persona-instructions.md"), "utf8")).toBe(
      `I ${id} {{constructor}} {{ toString }} {{__proto__}} {{hasOwnProperty}} {{nope}}\n`,
    );
  });

  test("a request for a persona whose file has an error is rejected naming that file", async () => {
    const sb = box();
    personaFiles(sb, { "reviewer.md": "---\nagent: gpt-9\n---\nREVIEW {{sessionId}}\n" });
    expect((await run(sb, ["team", "start", "g"])).code).toBe(0);
    mkdirSync(join(sb.workspace, "reviewer-request-x"));
    writeFileSync(join(sb.workspace, "reviewer-request-x", "instructions.md"), "Review it.\n");
    const o = pool.start(sb);
    const e = await o.waitEvent((ev) => ev.event === "request-rejected", "request rejected", 20_000);
    expect(e.request).toBe("reviewer-request-x");
    expect(e.reason).toBe(`persona "reviewer" is not usable: ${join(sb.workspace, "personas", "reviewer.md")} has an error (\`claude-wrapper doctor\` says which)`);
  });

  test("a workspace persona with an unknown agent does not stop orchestrate: the built-in one runs", async () => {
    const sb = box();
    personaFiles(sb, { "software-engineer.md": "---\nagent: nope\n---\nX\n" });
    expect((await run(sb, ["team", "start", "g", "--engineers", "1"])).code).toBe(0);
    const o = pool.start(sb);
    const e = await o.waitEvent((ev) => ev.event === "idle" && ev.persona === "software-engineer", "engineer idle", 20_000);
    const call = fakeCalls(join(sb.workspace, e.session))[0]!;
    expect(call.argv[0]).toEndWith("/claude");
    expect(o.events.filter((ev) => ev.event === "failed")).toEqual([]);
  });
});

/** What every rendered persona must give its agent, read end to end. */
function expectComplete(text: string, id: string, sb: Sandbox, canRequest: boolean): void {
  expect(text).not.toMatch(/\{\{|\}\}/);
  expect(text).toContain(id);
  expect(text).toContain(join(sb.workspace, id));
  expect(text).toContain(join(sb.workspace, "ROSTER.md"));
  expect(text).toMatch(/claude-wrapper tell [^\n]+ - <<'EOF'\n/);
  expect(text).toContain(`## Instructions from ${id} (<time>)`);
  expect(text).toContain(join(sb.workspace, ".bin", "claude-wrapper"));
  expect(text).toMatch(/## Task: .+\n- \*\*Status\*\*: (pending|in progress|completed)/);
  expect(text).toContain("`pending`, `in progress`, `blocked`, `completed`");
  if (canRequest) {
    expect(text).toContain(`mkdir -p '.database/`);
    expect(text).toContain(`-request-<short-name>/instructions.md' <<'EOF'\n## Instructions from ${id}\n`);
  } else {
    expect(text).toContain("You cannot request teammates");
  }
}

describe("every built-in persona, rendered for a real session", () => {
  test("through team start: ids, dirs, roster, recipes, task format; the manager is told its team", async () => {
    const sb = box();
    expect((await run(sb, ["team", "start", "Ship it", "--engineers", "2", "--interns", "1"])).code).toBe(0);
    const ids = sessionDirs(sb.workspace);
    const mgr = sessionDirs(sb.workspace, "engineering-manager")[0]!;
    for (const id of ids) {
      const text = readFileSync(join(sb.workspace, id, "persona-instructions.md"), "utf8");
      expectComplete(text, id, sb, !id.startsWith("intern-"));
      // Everyone but the manager reports to it.
      if (id !== mgr) expect(text).toContain(`the engineering manager (${mgr})`);
      // Each one is named to the others, with its id and dir.
      for (const other of ids.filter((o) => o !== id)) expect(text).toContain(`(\`${other}\`, `);
    }
    const manager = readFileSync(join(sb.workspace, mgr, "persona-instructions.md"), "utf8");
    const [e1, e2] = sessionDirs(sb.workspace, "software-engineer");
    expect(manager).toContain(`- **engineer-1** (\`${e1}\`, engineer; dir \`${join(sb.workspace, e1!)}\`): waiting for its first assignment`);
    expect(manager).toContain(`- **engineer-2** (\`${e2}\``);
    expect(manager).toContain("claude-wrapper tell engineer-1 - <<'EOF'");
    expect(manager).toContain("do this before you request anyone");
    const arch = sessionDirs(sb.workspace, "solutions-architect")[0]!;
    expect(readFileSync(join(sb.workspace, arch, "persona-instructions.md"), "utf8")).toContain(`\`${join(sb.workspace, arch, "design.md")}\``);
  });

  test("through a request claim: the requester is who it reports to, the roster is its team", async () => {
    const sb = box();
    expect((await run(sb, ["team", "start", "Ship it"])).code).toBe(0);
    const mgr = sessionDirs(sb.workspace, "engineering-manager")[0]!;
    const o = pool.start(sb);
    for (const persona of ["engineering-manager", "solutions-architect", "software-engineer", "intern"]) {
      mkdirSync(join(sb.workspace, `${persona}-request-r1`));
      writeFileSync(join(sb.workspace, `${persona}-request-r1`, "instructions.md"), `## Instructions from ${mgr}\n\nDo the ${persona} part.\n`);
    }
    for (const persona of ["solutions-architect", "software-engineer", "intern"]) {
      await o.waitEvent((e) => e.event === "spawned" && e.name === "r1" && e.persona === persona, `${persona} r1 spawned`, 20_000);
    }
    await o.waitEvent((e) => e.event === "spawned" && e.name === "r1" && e.persona === "engineering-manager", "manager r1 spawned", 20_000);
    for (const persona of ["engineering-manager", "solutions-architect", "software-engineer", "intern"]) {
      const dir = sessionDirs(sb.workspace, persona).map((d) => join(sb.workspace, d)).find((d) => readJsonFile(join(d, "session.json")).name === "r1")!;
      const id = dir.split("/").pop()!;
      const text = readFileSync(join(dir, "persona-instructions.md"), "utf8");
      expectComplete(text, id, sb, persona !== "intern");
      expect(text).toContain("You joined a team that was already working");
      if (persona !== "engineering-manager") expect(text).toContain(`claude-wrapper tell ${mgr} - <<'EOF'`);
    }
  });
});

describe("model per role", () => {
  test("persona defaults, a workspace file, --model-for and the team's model, in that order; recorded and shown", async () => {
    const sb = box();
    personaFiles(sb, { "solutions-architect.md": "---\nlabel: architect\nmodel: claude-opus-4-1\n---\nARCH {{sessionId}}\n" });
    const r = await run(sb, ["team", "start", "g", "--engineers", "1", "--interns", "1", "--model-for", "intern=claude-haiku-4-5", "--model-for=engineer=sonnet-x,manager=opus"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readJsonFile(join(sb.workspace, ".team.json")).modelFor).toEqual({ intern: "claude-haiku-4-5", "software-engineer": "sonnet-x", "engineering-manager": "opus" });
    const o = pool.start(sb);
    for (const p of ["engineering-manager", "solutions-architect", "software-engineer", "intern"]) {
      await o.waitEvent((e) => e.event === "idle" && e.persona === p, `${p} idle`, 20_000);
    }
    const expected: Record<string, string> = { "engineering-manager": "opus", "solutions-architect": "claude-opus-4-1", "software-engineer": "sonnet-x", intern: "claude-haiku-4-5" };
    for (const [persona, model] of Object.entries(expected)) {
      const dir = join(sb.workspace, sessionDirs(sb.workspace, persona)[0]!);
      const argv = fakeCalls(dir)[0]!.argv;
      expect({ persona, model: argv[argv.indexOf("--model") + 1] }).toEqual({ persona, model });
      expect(readJsonFile(join(dir, "session.json")).model).toBe(model);
    }
    const status = JSON.parse((await run(sb, ["team", "status", "--json"])).stdout);
    expect(Object.fromEntries(status.sessions.map((s: any) => [s.persona, s.model]))).toEqual(expected);
    const track = await run(sb, ["track"]);
    expect(track.stdout).toMatch(/MODEL/);
    expect(track.stdout).toMatch(/intern-1 .*claude-haiku-4-5/);
    expect((await run(sb, ["team", "status"])).stdout).toMatch(/architect .*claude-opus-4-1/);
  });

  test("the team's --model is below --model-for and above the persona's default", async () => {
    const sb = box();
    expect((await run(sb, ["team", "start", "g", "--interns", "1", "--model-for", "intern=haiku"])).code).toBe(0);
    // What `team start --model` records (its flag is another change's): a model for the whole team.
    const file = join(sb.workspace, ".team.json");
    writeFileSync(file, JSON.stringify({ ...readJsonFile(file), model: "team-model" }));
    const o = pool.start(sb);
    await o.waitEvent((e) => e.event === "idle" && e.persona === "intern", "intern idle", 20_000);
    await o.waitEvent((e) => e.event === "idle" && e.persona === "engineering-manager", "manager idle", 20_000);
    const model = (p: string) => readJsonFile(join(sb.workspace, sessionDirs(sb.workspace, p)[0]!, "session.json")).model;
    expect(model("intern")).toBe("haiku");
    expect(model("engineering-manager")).toBe("team-model");
  });

  test("--model-for mistakes are one line and create nothing", async () => {
    const sb = box();
    for (const [arg, msg] of [
      ["bogus=x", '--model-for: unknown persona "bogus" (known: engineering-manager (manager)'],
      ["intern", '--model-for takes persona=model (e.g. intern=haiku), got "intern"'],
      ["intern=", "--model-for takes persona=model"],
      ["intern=-rf", '--model-for: "-rf" is not a model name'],
      ["constructor=x", '--model-for: unknown persona "constructor"'],
    ] as const) {
      const r = await run(sb, ["team", "start", "g", "--model-for", arg]);
      expect({ arg, code: r.code }).toEqual({ arg, code: 2 });
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(msg);
      expect(sessionDirs(sb.workspace)).toEqual([]);
    }
  });
});
