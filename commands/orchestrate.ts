import { defineCommand } from "citty";
import { UserError } from "../core/errors";

export default defineCommand({
  meta: { name: "orchestrate", description: "(not built yet)" },
  run() {
    throw new UserError("orchestrate is not built yet", 1);
  },
});
