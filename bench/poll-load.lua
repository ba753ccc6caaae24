-- wrk script: new voters, each sending the same vote twice, the two often at once on
-- different connections. The poll's total must end up equal to the number of 201
-- answers (one per voter), every second vote answered 409.
local threads = {}
local options = {"bang-tin", "can-bo", "nguoi-quen", "tim-kiem", "mang-xa-hoi"}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  n = 0
  created = 0
  conflict = 0
  bad = 0
  math.randomseed(os.time() + tid * 7919)
  run = tostring(math.random(100000, 999999))
end
function request()
  n = n + 1
  local voter = math.floor((n + 1) / 2)
  local body = string.format('{"voter":"v%s-%d-%d","option":"%s"}', run, tid, voter,
    options[voter % #options + 1])
  return wrk.format("POST", "/api/polls/tim-thay-trang", {["Content-Type"] = "application/json"}, body)
end
function response(status)
  if status == 201 then created = created + 1
  elseif status == 409 then conflict = conflict + 1
  else bad = bad + 1 end
end
function done(summary, latency, requests)
  local c, d, b = 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    d = d + t:get("conflict")
    b = b + t:get("bad")
  end
  io.write(string.format("201 answers: %d, 409 answers: %d, other answers: %d\n", c, d, b))
end
