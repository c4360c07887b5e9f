-- wrk script for the spike bench: every request buys one unit of one sale with the next shopper's token,
-- from that shopper's own address (X-Forwarded-For, trusted from loopback as behind a load balancer).
-- args: <path> <token file> <threads>. Requests are built once at start, so wrk spends its time sending;
-- answers are counted by the edge's own metrics, which the bench reads (and stops wrk by).
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local path, nthreads = args[1], tonumber(args[3])
  local tokens = {}
  for line in io.lines(args[2]) do tokens[#tokens + 1] = line end
  requests = {}
  for i = id, #tokens - 1, nthreads do
    local ip = string.format("10.%d.%d.%d", math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
    requests[#requests + 1] = wrk.format("POST", path, {
      ["Authorization"] = "Bearer " .. tokens[i + 1],
      ["Content-Type"] = "application/json",
      ["X-Forwarded-For"] = ip,
    }, '{"paymentMethod":"card_ok"}')
  end
  k = 0
end

function request()
  k = k + 1
  return requests[(k - 1) % #requests + 1]
end

function done(summary, latency, requests)
  io.write(string.format('WRK_JSON {"statuses":{},"requests":%d,"durationUs":%d,"errors":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d}\n',
    summary.requests, summary.duration, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
