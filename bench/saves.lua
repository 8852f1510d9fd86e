-- Answer saves: PUT /api/attempts/<id>/answers/<qid> with each student's session
-- cookie and CSRF token (as the test page sends them), cycling over the running
-- attempts (consecutive requests hit different students), their questions and values.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

function build(data, tid)
  local list = {}
  for n, attempt in ipairs(data.attempts) do
    local student = data.students[attempt.student]
    local questions = data.exams[attempt.exam]
    local question = questions[(n + tid) % #questions + 1]
    local path = string.format("/api/attempts/%d/answers/%d", attempt.id, question.id)
    local headers = header_table({Cookie = student.cookie, ["X-CSRFToken"] = student.csrf,
                                  ["Content-Type"] = "application/json"})
    table.insert(list, wrk.format("PUT", path, headers,
                                  '{"value": ' .. answer_value(question, n + tid) .. '}'))
  end
  return list
end
