export { upstashAdapter } from "./ioredis-adapter";
export { type Bucket, type Decision, limiter, localBuckets } from "./limiter";
