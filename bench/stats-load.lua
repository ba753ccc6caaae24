-- wrk script: every request is a new visitor (a unique random session id), so the
-- "today" and "total" counts must end up equal to the number of 2xx answers.
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  n = 0
  ok = 0
  bad = 0
  math.randomseed(os.time() + tid * 7919)
  run = tostring(math.random(100000, 999999))
end
function request()
  n = n + 1
  local body = string.format('{"sid":"w%s-%d-%d"}', run, tid, n)
  return wrk.format("POST", "/api/stats", {["Content-Type"] = "application/json"}, body)
end
function response(status)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local total_ok, total_bad = 0, 0
  for _, t in ipairs(threads) do
    total_ok = total_ok + t:get("ok")
    total_bad = total_bad + t:get("bad")
  end
  io.write(string.format("2xx answers: %d, other answers: %d\n", total_ok, total_bad))
end
