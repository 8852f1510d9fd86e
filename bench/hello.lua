-- GET / of bench/hello.py (hello-world Flask): the baseline every ratio is taken to.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

function build(data, tid)
  return {wrk.format("GET", "/", header_table())}
end
