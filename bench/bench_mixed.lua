-- wrk script of bench/bench_mixed.py: an officer's mix on one signed-in session, or
-- GET /healthz as the baseline. Run by bench_mixed.py as
--   wrk ... -s bench/bench_mixed.lua URL -- DATA_FILE MODE
-- DATA_FILE is a Lua file bench_mixed.py writes (cookie, CSRF token, ids, bodies);
-- MODE is "mixed" or "healthz". done() prints one line "WARDKIT_RESULT {json}".

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
  table.insert(threads, thread)
end

-- Globals (read back by done() through thread:get): responses by status class and
-- requests sent by kind.
n2xx, n3xx, n4xx, n5xx, nother = 0, 0, 0, 0, 0
sent_today, sent_search, sent_household, sent_visit, sent_autosave, sent_healthz =
  0, 0, 0, 0, 0, 0

local data, mode, counter = nil, "mixed", 0
local page_headers, htmx_headers = {}, {}

local function merged(base, extra)
  local h = {}
  for k, v in pairs(base) do h[k] = v end
  for k, v in pairs(extra or {}) do h[k] = v end
  return h
end

local function pick(list)
  return list[math.random(#list)]
end

function init(args)
  data = dofile(args[1])
  mode = args[2] or "mixed"
  math.randomseed(1000 + (thread_id or 0) * 7919)
  -- A browser's navigation: the session cookie and its usual headers.
  page_headers = {
    ["Cookie"] = data.cookie,
    ["Accept"] = "text/html,application/xhtml+xml",
    ["Accept-Encoding"] = data.accept_encoding,
    ["Accept-Language"] = "vi-VN,vi;q=0.9",
  }
  -- What htmx adds on the page's POSTs (hx-headers on <body> carries the CSRF token;
  -- the browser adds Origin and Sec-Fetch-Site to a same-origin POST).
  htmx_headers = merged(page_headers, {
    ["Accept"] = "*/*",
    ["HX-Request"] = "true",
    ["X-CSRFToken"] = data.csrf,
    ["Origin"] = data.origin,
    ["Sec-Fetch-Site"] = "same-origin",
    ["Content-Type"] = "application/x-www-form-urlencoded",
  })
end

local function form(fields)
  return table.concat(fields, "&")
end

function request()
  if mode == "healthz" then
    sent_healthz = sent_healthz + 1
    return wrk.format("GET", "/healthz", page_headers)
  end
  counter = counter + 1
  local r = math.random(100)
  if r <= 40 then                                     -- 40 %: Today, the 3-group round
    sent_today = sent_today + 1
    return wrk.format("GET", "/today", page_headers)
  elseif r <= 60 then                                 -- 20 %: the live search box
    sent_search = sent_search + 1
    return wrk.format("POST", "/residents/search", merged(htmx_headers, {
      ["HX-Target"] = "residents-results", ["HX-Trigger"] = "residents-q",
      ["HX-Current-URL"] = data.origin .. "/residents"}), pick(data.searches))
  elseif r <= 80 then                                 -- 20 %: a household's page
    sent_household = sent_household + 1
    return wrk.format("GET", "/households/" .. pick(data.households), page_headers)
  elseif r <= 90 then                                 -- 10 %: a visit recorded at the door
    sent_visit = sent_visit + 1
    local household = pick(data.households)
    return wrk.format("POST", "/households/" .. household .. "/visits",
      merged(htmx_headers, {["HX-Target"] = "visit-form",
        ["HX-Current-URL"] = data.origin .. "/households/" .. household .. "/visits"}),
      form({"csrf_token=" .. data.csrf_q, pick(data.visits), "notes="}))
  else                                                -- 10 %: a declaration autosave
    sent_autosave = sent_autosave + 1
    local draft = pick(data.drafts)
    -- The whole form, as htmx posts it on "change", with the licence number just typed
    -- (new each time, so every autosave writes).
    local number = string.format("%02d%010d", thread_id or 0, counter)
    return wrk.format("POST", "/declarations/" .. draft .. "/draft",
      merged(htmx_headers, {["HX-Target"] = "save-status",
        ["HX-Trigger"] = "decl-licence_no",
        ["HX-Current-URL"] = data.origin .. "/declarations/" .. draft}),
      form({"csrf_token=" .. data.csrf_q, "licence_no=" .. number, data.autosave_rest}))
  end
end

function response(status, headers, body)
  if status >= 200 and status < 300 then n2xx = n2xx + 1
  elseif status >= 300 and status < 400 then n3xx = n3xx + 1
  elseif status >= 400 and status < 500 then n4xx = n4xx + 1
  elseif status >= 500 and status < 600 then n5xx = n5xx + 1
  else nother = nother + 1 end
end

function done(summary, latency, requests)
  local totals = {n2xx = 0, n3xx = 0, n4xx = 0, n5xx = 0, nother = 0, sent_today = 0,
                  sent_search = 0, sent_household = 0, sent_visit = 0, sent_autosave = 0,
                  sent_healthz = 0}
  for _, thread in ipairs(threads) do
    for k, _ in pairs(totals) do
      totals[k] = totals[k] + (thread:get(k) or 0)
    end
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  local parts = {
    string.format('"mode": "%s"', totals.sent_healthz > 0 and "healthz" or "mixed"),
    string.format('"requests": %d', summary.requests),
    string.format('"seconds": %.3f', seconds),
    string.format('"rps": %.2f', summary.requests / seconds),
    string.format('"p50_ms": %.2f', latency:percentile(50) / 1000),
    string.format('"p90_ms": %.2f', latency:percentile(90) / 1000),
    string.format('"p99_ms": %.2f', latency:percentile(99) / 1000),
    string.format('"max_ms": %.2f', latency.max / 1000),
    string.format('"socket_errors": %d', e.connect + e.read + e.write + e.timeout),
    string.format('"timeouts": %d', e.timeout),
    string.format('"wrk_status_errors": %d', e.status),
  }
  for k, v in pairs(totals) do
    table.insert(parts, string.format('"%s": %d', k, v))
  end
  io.write("WARDKIT_RESULT {" .. table.concat(parts, ", ") .. "}\n")
end
