-- The instructors' dashboard: `wrk ... -s dashboard.lua -- page` GETs /dashboard/,
-- `-- rows` GETs the polled live partial exactly as the page polls it (the URL taken
-- from the page's data-poll-url, with ?v=<digest>: 204 while the table is unchanged).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

function build(data, tid, args)
  local path = (args[1] == "rows") and data.poll_url or "/dashboard/"
  return {wrk.format("GET", path, header_table({Cookie = data.instructor_cookie}))}
end
