-- wrk script: POSTs search bodies, cycling through a query set so the server searches what the
-- in-process baseline searches (examples/server_baseline.rs `bodies` writes both files).
--   JSON:   BODIES=queries.jsonl wrk -t1 -c1 -d20s -s post.lua http://127.0.0.1:18080/collections/w/search
--   binary: F32=queries.f32 DIM=384 wrk -t1 -c1 -d20s -s post.lua \
--             'http://127.0.0.1:18080/collections/w/search?k=10&include_metadata=false'
-- Requests are formatted once, at start; no per-response Lua (wrk counts non-2xx itself).
local requests = {}
local bodies = {}
local ct = "application/json"
if os.getenv("F32") then
  ct = "application/octet-stream"
  local f = assert(io.open(os.getenv("F32"), "rb"))
  local raw = f:read("*a")
  f:close()
  local row = 4 * tonumber(os.getenv("DIM") or "384")
  for i = 1, #raw - row + 1, row do
    bodies[#bodies + 1] = raw:sub(i, i + row - 1)
  end
else
  for line in io.lines(os.getenv("BODIES") or "queries.jsonl") do
    bodies[#bodies + 1] = line
  end
end
local n = 0

init = function(args)
  local headers = { ["Content-Type"] = ct }
  for i, b in ipairs(bodies) do
    requests[i] = wrk.format("POST", nil, headers, b)
  end
end

request = function()
  n = n % #requests + 1
  return requests[n]
end

done = function(summary, latency, requests)
  io.write(string.format("p50_us %.0f p99_us %.0f requests %d non2xx %d errors %d\n",
    latency:percentile(50), latency:percentile(99), summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
