-- Shared by every bench/*.lua wrk script: the seeded data, pre-built requests cycled
-- per thread, a count of each status code, and one machine-readable summary line.
--
-- Environment: BENCH_DIR (this folder), BENCH_DATA (the Lua table seed.py login wrote),
-- BENCH_SCENARIO (name printed in the summary).
-- A scenario script defines build(data, tid) returning a list of wrk.format(...) strings.

data = dofile(os.getenv("BENCH_DATA"))

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  statuses = {}
  requests_list = build(data, tid or 1, args)
  -- Threads start at different points of the cycle.
  position = ((tid or 1) - 1) * math.floor(#requests_list / 2)
end

function request()
  position = position % #requests_list + 1
  return requests_list[position]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local function json_object(tbl)
  local parts = {}
  for key, value in pairs(tbl) do
    table.insert(parts, string.format('"%s": %s', tostring(key), tostring(value)))
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local codes = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses") or {}) do
      codes[code] = (codes[code] or 0) + n
    end
  end
  local lat = {min = latency.min, max = latency.max, mean = string.format("%.1f", latency.mean),
               stdev = string.format("%.1f", latency.stdev)}
  for _, p in ipairs({50, 75, 90, 95, 99, 99.9}) do
    lat["p" .. tostring(p):gsub("%.", "_")] = latency:percentile(p)
  end
  local e = summary.errors
  io.write("BENCH_JSON {",
    string.format('"scenario": "%s", ', os.getenv("BENCH_SCENARIO") or "?"),
    string.format('"requests": %d, "duration_us": %d, "bytes": %d, ',
                  summary.requests, summary.duration, summary.bytes),
    string.format('"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ',
                  e.connect, e.read, e.write, e.status, e.timeout),
    '"statuses": ', json_object(codes), ', "latency_us": ', json_object(lat), "}\n")
end

function header_table(extra)
  local headers = {["User-Agent"] = data.user_agent}
  for k, v in pairs(extra or {}) do headers[k] = v end
  return headers
end

-- An answer for `question` (its kind and option count), varied by `variant`, as JSON.
function answer_value(question, variant)
  if question.kind == "single" then
    return tostring(variant % question.options)
  elseif question.kind == "multiple" then
    return string.format("[%d, %d]", variant % question.options, (variant + 1) % question.options)
  end
  return string.format('"answer %d from wrk"', variant)
end
