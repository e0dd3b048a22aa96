#!/usr/bin/env bun
import { defineCommand } from "citty";
import pkg from "./package.json" with { type: "json" };
import { commands } from "./commands/index";
import { runCli } from "./core/cli/run";

/** Defined by scripts/build.ts: the commit the binary was built from. Unset when run from source. */
declare const BUILD_COMMIT: string | undefined;

const main = defineCommand({
  meta: {
    name: "claude-wrapper",
    version: pkg.version,
    description: "Run a self-growing team of AI coding agents on one machine",
  },
  subCommands: commands,
});

const version = `${pkg.version} (${typeof BUILD_COMMIT === "string" ? BUILD_COMMIT : "source"})`;
await runCli(main, process.argv.slice(2), { name: "claude-wrapper", version });
