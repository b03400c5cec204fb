-- POST /v1/leads for wrk: one lead, or a batch of `size` leads, each with a unique event_id and email.
-- Arguments after `--`: <api key> <batch size (1 = a single lead object)> <run tag>.

local counter = 0
local thread_tag = tostring(math.random(1, 2 ^ 30))
local key, size, run = "", 1, "run"

local titles = { "VP of Sales", "CTO", "Head of Marketing", "Software Engineer", "CEO", "Director of IT" }
local companies = {
  { "Acme Robotics", "acme-robotics.example", "Manufacturing", 1200, "US", "CA" },
  { "Globex Finance", "globex.example", "Financial Services", 5400, "US", "NY" },
  { "Stark Logistics", "stark-logistics.example", "Logistics", 650, "DE", "BY" },
  { "Tyrell Systems", "tyrell.example", "Software", 45, "AU", "NSW" },
}
local sources = { "web_form", "landing_page", "webinar", "referral", "paid_ads", "api" }

function init(args)
  key, size, run = args[1], tonumber(args[2]), args[3]
  math.randomseed(os.time() + tonumber(thread_tag))
end

local function lead()
  counter = counter + 1
  local id = run .. "-" .. thread_tag .. "-" .. counter
  local c = companies[(counter % #companies) + 1]
  return string.format(
    '{"event_id":"%s","source":"%s","email":"lead.%s@%s","first_name":"Bench","last_name":"Lead",'
      .. '"company":"%s","job_title":"%s","industry":"%s","employees":%d,"country":"%s","region":"%s",'
      .. '"product_interest":"platform","marketing_consent":true}',
    id, sources[(counter % #sources) + 1], id, c[2], c[1], titles[(counter % #titles) + 1], c[3], c[4], c[5], c[6]
  )
end

function request()
  local body
  if size == 1 then
    body = lead()
  else
    local items = {}
    for i = 1, size do
      items[i] = lead()
    end
    body = "[" .. table.concat(items, ",") .. "]"
  end
  local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }
  return wrk.format("POST", "/v1/leads", headers, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"errors_status":%d,"errors_other":%d,'
      .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max
  ))
end
