import { defineCommand } from "citty";
import { UserError } from "../core/errors";

export default defineCommand({
  meta: { name: "doctor", description: "(not built yet)" },
  run() {
    throw new UserError("doctor is not built yet", 1);
  },
});
