-- wrk script for bench/side-by-side.sh: POSTs one GraphQL body (the file named by
-- SBS_BODY) with an optional bearer token (SBS_TOKEN), counts answers carrying GraphQL
-- errors, and reads LifeFlow's x-sql-statements header. done() prints one "SBS k=v ..." line.

local f = assert(io.open(os.getenv("SBS_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
local token = os.getenv("SBS_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  gql_errors = 0
  bad_status = 0
  sql_n = 0
  sql_sum = 0
  sql_min = -1
  sql_max = -1
  first_error = ""
end

function response(status, headers, body)
  if status ~= 200 then
    bad_status = bad_status + 1
    if first_error == "" then first_error = status .. " " .. string.sub(body, 1, 300) end
  elseif string.find(body, '"errors"', 1, true) then
    gql_errors = gql_errors + 1
    if first_error == "" then first_error = string.sub(body, 1, 300) end
  end
  local s = tonumber(headers["x-sql-statements"] or headers["X-Sql-Statements"])
  if s then
    sql_n = sql_n + 1
    sql_sum = sql_sum + s
    if sql_min < 0 or s < sql_min then sql_min = s end
    if s > sql_max then sql_max = s end
  end
end

function done(summary, latency, requests)
  local errs, bad, n, sum, mn, mx, first = 0, 0, 0, 0, -1, -1, ""
  for _, t in ipairs(threads) do
    errs = errs + t:get("gql_errors")
    bad = bad + t:get("bad_status")
    local tn = t:get("sql_n")
    if tn > 0 then
      n = n + tn
      sum = sum + t:get("sql_sum")
      local tmin, tmax = t:get("sql_min"), t:get("sql_max")
      if mn < 0 or tmin < mn then mn = tmin end
      if tmax > mx then mx = tmax end
    end
    if first == "" then first = t:get("first_error") end
  end
  local e = summary.errors
  io.write(string.format(
    "SBS requests=%d duration_us=%d rps=%.1f mean_us=%.0f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "gql_errors=%d bad_status=%d sock_errors=%d sql_n=%d sql_min=%d sql_max=%d sql_mean=%.3f\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6), latency.mean,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    errs, bad, e.connect + e.read + e.write + e.timeout, n, mn, mx, n > 0 and sum / n or 0))
  if first ~= "" then
    io.write("SBS_FIRST_ERROR " .. string.gsub(first, "\n", " ") .. "\n")
  end
end
