export { limiter, localBuckets, type Bucket, type Decision } from "./limiter";
export { upstashAdapter } from "./ioredis-adapter";
