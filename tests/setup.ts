// bun test ignores a timeout in bunfig.toml; whole-stack tests wait on real services.
import { afterAll, setDefaultTimeout } from "bun:test";
import { stopStack } from "./harness";

setDefaultTimeout(60_000);
afterAll(stopStack);
