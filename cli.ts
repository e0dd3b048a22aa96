#!/usr/bin/env bun
import { defineCommand } from "citty";
import pkg from "./package.json" with { type: "json" };
import { commands } from "./commands/index";
import { runCli } from "./core/cli/run";

const main = defineCommand({
  meta: {
    name: "claude-wrapper",
    version: pkg.version,
    description: "Run a self-growing team of AI coding agents on one machine",
  },
  subCommands: commands,
});

await runCli(main, process.argv.slice(2), { name: "claude-wrapper", version: pkg.version });
