/**
 * Persona templates from `<workspace>/personas/`: an override of a built-in one is what `team
 * start` renders, a new persona is what `createSession` lays out, and a broken file never takes
 * the built-in away. Real processes, real dirs.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, ROOT, type Sandbox, readJsonFile, run, sessionDirs, sandboxes } from "./helpers";

const box = sandboxes("cw-personas-");
afterEach(box.cleanup);

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
  });
});
