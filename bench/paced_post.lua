-- wrk script for bench/load.py: POST one request body at a fixed rate, report figures as JSON.
--
-- Plain wrk is closed-loop (each connection sends as soon as its last answer arrives). Here every
-- wrk thread keeps a schedule of send times, one every THREADS/RATE seconds, and delay() holds each
-- connection until the next free slot: the offered load is RATE requests per second as long as
-- enough connections are open (connections > RATE x latency). wrk starts a request's clock when it
-- is written, after the delay, so latency is the server's answer time, not time spent waiting here.
--
-- Environment: BENCH_BODY (file with the JSON body), BENCH_RATE (requests/s), BENCH_THREADS.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_usec; } bench_timeval;
  int gettimeofday(bench_timeval *tv, void *tz);
]]
local tv = ffi.new("bench_timeval")

local function now_ms()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000
end

local file = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept-Language"] = "en"

local interval = 1000 * tonumber(os.getenv("BENCH_THREADS")) / tonumber(os.getenv("BENCH_RATE"))
local next_due = nil

function delay()
  local now = now_ms()
  if next_due == nil then
    next_due = now
  end
  local wait = next_due - now
  next_due = next_due + interval
  if wait < 0 then
    return 0
  end
  return math.floor(wait)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "errors_connect": %d, "errors_read": %d, ' ..
    '"errors_write": %d, "errors_status": %d, "errors_timeout": %d, "p50_us": %d, "p95_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean))
end
