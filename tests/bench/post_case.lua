-- wrk script for the ingest benchmark: POST a JSON case with a bearer token, spread over
-- the seeded world's grids and categories. HUB_BENCH_TOKEN (required) and HUB_BENCH_PATH
-- (default /api/v1/cases) come from the environment. done() prints one JSON line,
-- prefixed "BENCH_JSON ", with exact counts and latency percentiles in microseconds.

local grids = {"339901001001001", "339901001001002", "339901002001001", "339902001001001"}
local categories = {"T01", "C02", "G01", "C01"}
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_no", counter)
  table.insert(threads, thread)
end

local requests = {}
local i = 0

function init(args)
  local token = os.getenv("HUB_BENCH_TOKEN")
  if token == nil or token == "" then
    error("HUB_BENCH_TOKEN is not set")
  end
  local path = os.getenv("HUB_BENCH_PATH") or "/api/v1/cases"
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }
  -- Every grid with every category (a 4 x 4 grid), shifted per thread.
  local n = 0
  for g = 1, #grids do
    for c = 1, #categories do
      n = n + 1
      local body = string.format(
        '{"title":"bench case %d-%d","description":"wrk ingest benchmark",'
          .. '"category_code":"%s","grid_code":"%s","source":"grid_patrol"}',
        thread_no or 0, n, categories[c], grids[g])
      requests[n] = wrk.format("POST", path, headers, body)
    end
  end
  i = (thread_no or 0) * 5
end

function request()
  i = i % #requests + 1
  return requests[i]
end

function done(summary, latency, _requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,'
      .. '"read_errors":%d,"write_errors":%d,"timeouts":%d,"non_2xx_3xx":%d,'
      .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.timeout, e.status, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
