import { defineCommand } from "citty";
import { plural } from "../../core/base/format";
import { resumeTeam } from "../../core/team/resume";
import { resolveWorkspace } from "../../core/workspace/paths";
import { jsonArg, sharedArgs } from "../_shared";
import { describeResume } from "../retry";

export default defineCommand({
  meta: { name: "resume", description: "Resume a paused team: every stopped session continues its conversation with what is new" },
  args: {
    failed: { type: "boolean", description: "Also retry every failed session" },
    ...sharedArgs,
    ...jsonArg,
  },
  run({ args }) {
    const r = resumeTeam(resolveWorkspace(args.workspace), { failed: args.failed });
    if (args.json) {
      console.log(JSON.stringify(r, null, 2));
      return;
    }
    if (!r.sessions.length) {
      console.log(`Nothing to resume: no ${args.failed ? "stopped or failed" : "stopped"} sessions in ${r.workspace}.`);
      return;
    }
    console.log(describeResume(`Resuming ${plural(r.sessions.length, "session")}`, r));
  },
});
