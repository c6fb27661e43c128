import type { z } from "zod";
import type { tokenUsage } from "@quire/contracts";

export type TokenUsage = z.infer<typeof tokenUsage>;
