// `bun run edge`: the edge alone, EDGE_PROCESSES processes (one per core by default) on PORT, each supervised.
import { join } from "node:path";
import { edgeSpecs } from "./lib/edges";
import { supervise } from "./lib/supervise";

const sup = supervise(edgeSpecs(process.env), { cwd: join(import.meta.dir, ".."), env: process.env });
const stop = () => sup.stop().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
