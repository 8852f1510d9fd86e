-- Webhook deliveries: POST /api/proctoring/webhook with the key, JSON bodies cycling
-- over many identifiers (open attempts, closed ones, unmatched) and every status, with
-- signedAt/stoppedAt moving forward, so outcomes mix applied, stale, repeat and unmatched,
-- and final statuses close open attempts; every fifth is sent twice (a retry).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local STATUSES = {"started", "stopped", "accepted", "rejected", "skipped"}
local CODES = {"b1", "b2", "c1", "k1", "m1", "n1", "s1"}

local function stamp(seconds)
  -- 2024-05-01T00:00:00Z + seconds, as the contract's date form
  return os.date("!%Y-%m-%dT%H:%M:%S.000Z", 1714521600 + seconds)
end

function build(data, tid)
  local list, ids = {}, data.identifiers
  local headers = header_table({[data.webhook_header] = data.webhook_key,
                                ["Content-Type"] = "application/json"})
  for round = 0, #STATUSES - 1 do
    for i, identifier in ipairs(ids) do
      local status = STATUSES[(i + round + tid) % #STATUSES + 1]
      local k = round * #ids + i
      local averages = {}
      for j, code in ipairs(CODES) do
        table.insert(averages, string.format('"%s": %d', code, (k * j + tid) % 100))
      end
      local stopped = (status == "started") and "null" or ('"' .. stamp(3600 + k) .. '"')
      local signed = (status == "accepted" or status == "rejected")
        and ('"' .. stamp(7200 + k + tid) .. '"') or "null"
      local body = string.format(
        '{"identifier": "%s", "status": "%s", "startedAt": "%s", "stoppedAt": %s, ' ..
        '"signedAt": %s, "score": %d, "threshold": 50, "duration": %d, ' ..
        '"student": "bench", "proctor": "wrk", "comment": "delivery %d of thread %d", ' ..
        '"averages": {%s}}',
        identifier, status, stamp(0), stopped, signed, (k * 7) % 101, k % 90, k, tid,
        table.concat(averages, ", "))
      local req = wrk.format("POST", "/api/proctoring/webhook", headers, body)
      table.insert(list, req)
      -- Every fifth delivery is sent twice in a row, as a sender's retry (a repeat).
      if k % 5 == 0 then table.insert(list, req) end
    end
  end
  return list
end
