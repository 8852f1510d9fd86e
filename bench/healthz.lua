-- GET /healthz (the load balancer's check: one SELECT 1).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

function build(data, tid)
  return {wrk.format("GET", "/healthz", header_table())}
end
