-- wrk script for the spike bench: every request buys one unit of one sale with the next shopper's token.
-- args: <path> <token file> <requests in all>; prints a JSON line with the answers by status at the end.
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
  local token = tokens[(k % #tokens) + 1]
  k = k + nthreads
  sent = sent + 1
  return wrk.format("POST", path, { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  answered = answered + 1
  statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
  if answered >= limit then wrk.thread:stop() end
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
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
