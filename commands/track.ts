import { defineCommand } from "citty";
import { UserError } from "../core/errors";

export default defineCommand({
  meta: { name: "track", description: "(not built yet)" },
  run() {
    throw new UserError("track is not built yet", 1);
  },
});
