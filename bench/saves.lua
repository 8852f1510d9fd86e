-- Answer saves: PUT /api/attempts/<id>/answers/<qid> with each student's session
-- cookie and CSRF token (as the test page sends them), cycling over students (fastest,
-- so consecutive requests hit different attempts), questions and values.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local function value(question, variant)
  if question.kind == "single" then
    return tostring(variant % question.options)
  elseif question.kind == "multiple" then
    return string.format("[%d, %d]", variant % question.options, (variant + 1) % question.options)
  end
  return string.format('"answer %d from wrk"', variant)
end

function build(data, tid)
  local list = {}
  for variant = 0, 3 do
    for _, question in ipairs(data.questions) do
      for _, student in ipairs(data.students) do
        local path = string.format("/api/attempts/%d/answers/%d", student.attempt, question.id)
        local headers = header_table({Cookie = student.cookie, ["X-CSRFToken"] = student.csrf,
                                      ["Content-Type"] = "application/json"})
        table.insert(list, wrk.format("PUT", path, headers,
                                      '{"value": ' .. value(question, variant + tid) .. '}'))
      end
    end
  end
  return list
end
