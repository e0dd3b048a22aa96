import { defineCommand } from "citty";
import { UserError } from "../core/errors";

export default defineCommand({
  meta: { name: "demo", description: "(not built yet)" },
  run() {
    throw new UserError("demo is not built yet", 1);
  },
});
