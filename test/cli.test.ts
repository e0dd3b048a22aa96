/**
 * The CLI surface: help on every command, the version, and one clear line for every mistake.
 * Commands are discovered from the help itself, so a new command is covered without edits here.
 */
import { afterAll, describe, expect, test } from "bun:test";
import pkg from "../package.json" with { type: "json" };
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, ROOT, type RunResult, run, sandbox } from "./helpers";

const sb = sandbox("cw-cli-");
afterAll(() => sb.cleanup());

/** Piped output with no NO_COLOR: the CLI must notice on its own that this is not a terminal. */
const plainEnv = { ...sb.env };
delete plainEnv.NO_COLOR;
delete plainEnv.FORCE_COLOR;
delete plainEnv.TERM;
const cli = (args: string[], env = plainEnv) => run({ root: sb.root, env }, args);

function expectUsageError(r: RunResult, mention: string): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe("");
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toStartWith("claude-wrapper: ");
  expect(lines[0]).toContain(mention);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toContain("\x1b[");
}

/** Command names listed under COMMANDS in a help text. */
function listedCommands(help: string): string[] {
  const at = help.indexOf("COMMANDS");
  if (at < 0) return [];
  const names: string[] = [];
  for (const line of help.slice(at).split("\n").slice(1)) {
    const m = /^\s+([a-z][a-z0-9-]*)\s{2,}/.exec(line);
    if (m) names.push(m[1]!);
    else if (line.trim() && names.length) break;
  }
  return names;
}

describe("--help", () => {
  test("every command and subcommand prints plain usage and exits 0", async () => {
    const root = await cli(["--help"]);
    expect(root.code).toBe(0);
    const top = listedCommands(root.stdout);
    for (const c of ["team", "orchestrate", "attach", "track", "tell", "logs", "demo", "doctor"]) expect(top).toContain(c);

    const paths: string[][] = [[]];
    for (const c of top) {
      paths.push([c]);
      const sub = await cli([c, "--help"]);
      for (const s of listedCommands(sub.stdout)) paths.push([c, s]);
    }
    expect(paths).toContainEqual(["team", "start"]);
    expect(paths).toContainEqual(["team", "status"]);
    expect(paths).toContainEqual(["team", "stop"]);

    for (const p of paths) {
      for (const flag of ["--help", "-h"]) {
        const r = await cli([...p, flag]);
        const what = `claude-wrapper ${[...p, flag].join(" ")}`;
        expect({ what, code: r.code, stderr: r.stderr }).toEqual({ what, code: 0, stderr: "" });
        expect(r.stdout).toContain("USAGE");
        expect(r.stdout).toContain(["claude-wrapper", ...p].join(" "));
        expect({ what, ansi: r.stdout.includes("\x1b") }).toEqual({ what, ansi: false });
        expect({ what, trailing: /[ \t]$/m.test(r.stdout) }).toEqual({ what, trailing: false });
      }
    }
  }, 60_000);

  test("help wins over other arguments and never runs the command", async () => {
    const r = await cli(["team", "start", "a goal", "--engineers", "3", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--engineers");
    expect(r.stdout).toContain("--interns");
    expect(r.stdout).toContain("--workspace");
    const again = await cli(["team", "start", "a goal"]);
    expect(again.code).toBe(0);
  });

  test("NO_COLOR also turns colour off", async () => {
    const r = await cli(["team", "start", "--help"], { ...plainEnv, NO_COLOR: "1" });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("\x1b");
  });

  test("no command at all shows the usage on stderr and exits 2", async () => {
    for (const args of [[], ["team"]]) {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain("USAGE");
      expect(r.stderr).not.toContain("\x1b");
    }
  });
});

describe("output", () => {
  test("consola output does not vanish when NODE_ENV=test or TEST is set", async () => {
    const script = join(sb.root, "consola-cli.ts");
    const mod = (p: string) => JSON.stringify(join(ROOT, p));
    writeFileSync(
      script,
      `import { defineCommand } from ${mod("node_modules/citty/dist/index.mjs")};
import { consola } from ${mod("node_modules/consola/dist/index.mjs")};
import { runCli } from ${mod("core/cli/run.ts")};
const main = defineCommand({ meta: { name: "x" }, run() { consola.log("log line"); consola.success("success line"); } });
await runCli(main, process.argv.slice(2), { name: "x", version: "1" });
`,
    );
    for (const extra of [{ NODE_ENV: "test" }, { TEST: "1" }, {}]) {
      const p = Bun.spawnSync([BUN, script], { cwd: sb.root, env: { ...plainEnv, ...extra }, stdout: "pipe", stderr: "pipe" });
      const out = p.stdout.toString() + p.stderr.toString();
      expect({ extra, out: out.includes("log line") && out.includes("success line") }).toEqual({ extra, out: true });
      expect(p.exitCode).toBe(0);
    }
  });
});

describe("--version", () => {
  test("prints package.json's version and where it was built from: a commit, or (source) under bun", async () => {
    // The build embeds the commit (scripts/build.ts); test/release.test.ts checks which one.
    const from = process.env.CW_TEST_BINARY ? "([0-9a-f]{7,}(-dirty)?|unknown)" : "source";
    for (const flag of ["--version", "-v"]) {
      const r = await cli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^${pkg.version.replaceAll(".", "\\.")} \\(${from}\\)\n$`));
      expect(r.stderr).toBe("");
    }
  });
});

describe("mistakes are one line on stderr, exit 2", () => {
  const cases: Array<[string[], string]> = [
    [["bogus"], "unknown command `bogus`"],
    [["team", "bogus"], "unknown command `bogus`"],
    [["Team"], "unknown command `Team`"],
    [["--bogus"], "unknown option --bogus"],
    [["--bogus=1", "team"], "unknown option --bogus"],
    [["team", "--bogus"], "unknown option --bogus"],
    [["team", "start", "goal", "--bogus"], "unknown option --bogus"],
    [["team", "start", "goal", "--bogus=x"], "unknown option --bogus"],
    [["team", "start", "goal", "-q"], "unknown option -q"],
    [["team", "start", "goal", "--engineers"], "--engineers needs a value"],
    [["team", "start"], "GOAL"],
    [["doctor", "--bogus"], "unknown option --bogus"],
    [["orchestrate", "--bogus"], "unknown option --bogus"],
    [["attach", "--bogus"], "unknown option --bogus"],
    [["attach", "-lx"], "unknown option -lx"],
    [["track", "--bogus"], "unknown option --bogus"],
    [["logs", "--bogus"], "unknown option --bogus"],
    [["demo", "--bogus"], "unknown option --bogus"],
  ];
  for (const [args, mention] of cases) {
    test(args.join(" ") || "(nothing)", async () => {
      expectUsageError(await cli(args), mention);
    });
  }
});

describe("did you mean", () => {
  const cases: Array<[string[], string]> = [
    [["team", "strat"], "did you mean `team start`?"],
    [["atach", "--list"], "did you mean `attach`?"],
    [["Team", "status"], "did you mean `team`?"],
    [["orchestrat"], "did you mean `orchestrate`?"],
    [["team", "start", "goal", "--engineer", "2"], "did you mean --engineers?"],
    [["attach", "--lsit"], "did you mean --list?"],
  ];
  for (const [args, hint] of cases) {
    test(args.join(" "), async () => {
      const r = await cli(args);
      expectUsageError(r, hint);
    });
  }

  test("nothing close: the commands there are, hidden ones left out", async () => {
    const r = await cli(["frobnicate"]);
    expectUsageError(r, "commands: team, orchestrate, attach");
    expect(r.stderr).not.toContain("sim-agent");
    expect(r.stderr).not.toContain("did you mean");
  });
});

describe("hidden commands", () => {
  test("sim-agent is absent from the help and from suggestions, and still runs", async () => {
    const help = await cli(["--help"]);
    expect(listedCommands(help.stdout)).not.toContain("sim-agent");
    expect(help.stdout).not.toContain("sim-agent");
    const near = await cli(["sim-agnt"]);
    expectUsageError(near, "unknown command `sim-agnt`");
    expect(near.stderr).not.toContain("sim-agent");
    // Still there for the orchestrator: it answers with its own usage mistake, not "unknown".
    const itself = await cli(["sim-agent"]);
    expectUsageError(itself, "CLAUDE_WRAPPER_SESSION_DIR");
  });
});

describe("strictness kept", () => {
  test("an enumerated option names its values; a bad one is one line, exit 2", async () => {
    const help = await cli(["orchestrate", "--help"]);
    expect(help.stdout).toMatch(/--agent=<claude(\|[a-z]+)*\|sim>/);
    expectUsageError(await cli(["orchestrate", "--agent", "gpt"]), "Expected one of: claude, codex, gemini, sim");
  });

  test("--help after -- is an argument, not a request for help", async () => {
    const r = await cli(["tell", "manager", "--", "--help"], { ...plainEnv, CLAUDE_WRAPPER_WORKSPACE: join(sb.root, "none") });
    expect(r.stdout).not.toContain("USAGE");
    expect(r.code).toBe(3);
  });

  test("flags of a subcommand given before it belong to the level they are at", async () => {
    expectUsageError(await cli(["--json", "team", "status"]), "unknown option --json for `claude-wrapper`");
    const help = await cli(["team", "--help", "start"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("USAGE claude-wrapper team start|status|stop");
  });
});
