-- wrk script for the spike bench: every request buys one unit of one sale with the next shopper's token,
-- from that shopper's own address (X-Forwarded-For, trusted from loopback as behind a load balancer).
-- args: <path> <token file> <requests in all> <threads>. Prints WRK_THREAD_DONE when a thread has its
-- answers (the bench then stops wrk) and a JSON line with the answers by status at the end.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  path = args[1]
  tokens = {}
  for line in io.lines(args[2]) do tokens[#tokens + 1] = line end
  nthreads = tonumber(args[4])
  limit = math.floor(tonumber(args[3]) / nthreads)
  k = id
  sent = 0
  answered = 0
  statuses = {}
  body = '{"paymentMethod":"card_ok"}'
end

function request()
  local i = k % #tokens
  k = k + nthreads
  sent = sent + 1
  local ip = string.format("10.%d.%d.%d", math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
  return wrk.format("POST", path, {
    ["Authorization"] = "Bearer " .. tokens[i + 1],
    ["Content-Type"] = "application/json",
    ["X-Forwarded-For"] = ip,
  }, body)
end

function response(status, headers, body)
  answered = answered + 1
  statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
  if answered == limit then
    io.write("WRK_THREAD_DONE\n")
    io.flush()
  end
end

function done(summary, latency, requests)
  local parts = {}
  local totals = {}
  for _, t in ipairs(threads) do
    for s, n in pairs(t:get("statuses")) do totals[s] = (totals[s] or 0) + n end
  end
  for s, n in pairs(totals) do parts[#parts + 1] = string.format('"%s":%d', s, n) end
  io.write(string.format('WRK_JSON {"statuses":{%s},"requests":%d,"durationUs":%d,"errors":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d}\n',
    table.concat(parts, ","), summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
