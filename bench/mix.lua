-- The students' exam-day mix: metrics posts, answer saves, question fetches and token
-- requests in the proportions 6 : 3 : 1 : 1, as the test page sends them (a metrics
-- batch of 3 samples every ~10 s, saves as the student types, a question fetch and a
-- token on every (re)load). Each request goes to the next running attempt of its kind,
-- with that student's session cookie and CSRF token, so consecutive requests are
-- different students and each attempt's metrics posts are spread evenly over the run
-- (the portal accepts only a few samples a minute per attempt: seed enough attempts).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local KINDS = {"metrics", "save", "metrics", "questions", "metrics", "save", "metrics",
               "token", "metrics", "save", "metrics"}
local SAMPLE = '{"metrics": {"b1": %d, "c1": %d, "n1": 0}, "peak": "b1", "score": %d, ' ..
               '"threshold": 50, "violated": %s}'

function build(data, tid)
  -- Nothing pre-built: requests are formatted as they are sent (4,000 attempts x 4 kinds).
  count, counters = 0, {metrics = 0, save = 0, questions = 0, token = 0}
  offset = (tid - 1) * math.floor(#data.attempts / 2)
  return {}
end

function request()
  count = count + 1
  local kind = KINDS[(count - 1) % #KINDS + 1]
  local n = counters[kind]
  counters[kind] = n + 1
  local attempt = data.attempts[(offset + n) % #data.attempts + 1]
  local student = data.students[attempt.student]
  local headers = header_table({Cookie = student.cookie, ["X-CSRFToken"] = student.csrf,
                                ["Content-Type"] = "application/json",
                                Accept = "application/json"})
  local prefix = "/api/attempts/" .. attempt.id
  if kind == "metrics" then
    local samples = {}
    for i = 1, 3 do
      local score = (n * 7 + i * 13) % 101
      table.insert(samples, string.format(SAMPLE, 100 - score, (n + i) % 100, score,
                                          score < 50 and "true" or "false"))
    end
    return wrk.format("POST", prefix .. "/metrics", headers,
                      '{"samples": [' .. table.concat(samples, ", ") .. ']}')
  elseif kind == "save" then
    local questions = data.exams[attempt.exam]
    local question = questions[n % #questions + 1]
    return wrk.format("PUT", prefix .. "/answers/" .. question.id, headers,
                      '{"value": ' .. answer_value(question, n + tid) .. '}')
  elseif kind == "questions" then
    return wrk.format("GET", prefix .. "/questions", headers)
  end
  return wrk.format("POST", prefix .. "/token", headers)
end
