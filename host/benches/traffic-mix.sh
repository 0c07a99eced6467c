# Sourced by the HTTP benchmarks after post-order.sh: traffic like a shop's instead of one
# fixed body. Writes $servers_work/catalog.json (1,000 products, plus those of the fixed
# body; serve with CATALOG_FILE pointing at it) and $servers_work/mix.lua, a wrk script
# whose requests are, in turn at random:
# - POST /api/v1/orders/ by one of 500 users: 1–5 lines of the 1,000 products, quantities
#   1–3, addresses in six countries, standard, express or overnight shipping, a discount
#   code on one order in five;
# - GET /api/v1/orders/{id} by its owner, of one of the last 1,000 orders this wrk thread
#   placed: a share of the requests given as the script's argument in percent
#   (`wrk … -s mix.lua URL -- 20`; 0 by default).
# A second argument names the orders' sales channel (`-- 0 reserving`), a third one product
# every line is of (`-- 0 "" p0007`: every order on one hot product).
python3 - "$servers_work/catalog.json" <<'PY'
import json, random, sys
random.seed(7)
products = [{"id": f"p{i:04}", "name": f"Product {i}", "sku": f"SKU-{i:04}",
             "price": round(random.uniform(1, 120), 2), "currency": "USD",
             "stock": 1_000_000_000, "is_active": True} for i in range(1000)]
fixed = json.load(open("catalog/products.json"))
for p in fixed:
    p["stock"] = 1_000_000_000
json.dump(products + fixed, open(sys.argv[1], "w"))
PY
{
    echo "local tokens = {"
    for i in $(seq 0 499); do echo "  \"$("$bin" token --user "shopper-$i")\","; done
    echo "}"
    cat <<'LUA'
local addresses = {
  '{"full_name":"Ada Lovelace","address_line_1":"1 Market St","city":"San Francisco","state":"CA","postal_code":"94105","country":"US"}',
  '{"full_name":"Grace Hopper","address_line_1":"350 5th Ave","city":"New York","state":"NY","postal_code":"10118","country":"US"}',
  '{"full_name":"Alan Turing","address_line_1":"10 Downing St","city":"London","state":"England","postal_code":"SW1A 2AA","country":"GB"}',
  '{"full_name":"Emmy Noether","address_line_1":"Unter den Linden 1","city":"Berlin","state":"Berlin","postal_code":"10117","country":"DE"}',
  '{"full_name":"Marie Curie","address_line_1":"1 Rue de Rivoli","city":"Paris","state":"Ile-de-France","postal_code":"75001","country":"FR"}',
  '{"full_name":"Donald Knuth","address_line_1":"1 Yonge St","city":"Toronto","state":"ON","postal_code":"M5E 1W7","country":"CA"}',
}
local methods = { "standard", "express", "overnight" }
local codes = { "WELCOME10", "FIVEOFF" }
local placed = {}   -- {id, token} of orders this thread placed (the last 1,000)
local next_slot = 1

local get_share = 0
local channel = ""
local hot = nil

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  get_share = tonumber(args[1] or "0")
  if args[2] and args[2] ~= "" then channel = ',"sales_channel":"' .. args[2] .. '"' end
  if args[3] and args[3] ~= "" then hot = args[3] end
end

function request()
  if #placed > 0 and math.random(100) <= get_share then
    local order = placed[math.random(#placed)]
    return wrk.format("GET", "/api/v1/orders/" .. order[1], { ["Authorization"] = "Bearer " .. order[2] })
  end
  local user = math.random(#tokens)
  local lines = {}
  if hot then
    lines[1] = string.format('{"product_id":"%s","quantity":%d}', hot, math.random(3))
  else
    for i = 1, math.random(5) do
      lines[i] = string.format('{"product_id":"p%04d","quantity":%d}', math.random(0, 999), math.random(3))
    end
  end
  local code = ""
  if math.random(5) == 1 then code = ',"discount_code":"' .. codes[math.random(#codes)] .. '"' end
  local body = '{"items":[' .. table.concat(lines, ",") .. '],"shipping_address":' .. addresses[math.random(#addresses)]
    .. ',"shipping_method":"' .. methods[math.random(#methods)] .. '","payment_method":"card"' .. code .. channel .. '}'
  return wrk.format("POST", "/api/v1/orders/", {
    ["Authorization"] = "Bearer " .. tokens[user],
    ["Content-Type"] = "application/json",
  }, body)
end

-- Remembers each order placed, with its owner's token, for the GETs.
function response(status, headers, body)
  if status == 201 then
    local id = body:match('"id":"([^"]+)"')
    local user = body:match('"user_id":"shopper%-(%d+)"')
    if id and user then
      placed[next_slot] = { id, tokens[tonumber(user) + 1] }
      next_slot = next_slot % 1000 + 1
    end
  end
end
LUA
} >"$servers_work/mix.lua"
