// bun test ignores a timeout in bunfig.toml and applies this one only to some files: `npm test` also passes
// --timeout. Whole-stack tests wait on real services.
import { afterAll, setDefaultTimeout } from "bun:test";
import { stopStack } from "./harness";

setDefaultTimeout(60_000);
afterAll(stopStack);
