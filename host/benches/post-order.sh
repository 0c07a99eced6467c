# Sourced by the HTTP benchmarks after tests/servers.sh, with $bin the release binary: a
# token for the load-test user (JWT_SECRET is the benchmarks' own), the order every POST
# places ($body: two items, shipped to San Francisco) and the wrk script that posts it
# ($servers_work/post.lua, by post_script, which other benchmarks use for their orders).
export JWT_SECRET=load-test-secret-0123456789 RUST_LOG=warn
token=$("$bin" token --user load-tester)
body='{"items":[{"product_id":"prod-widget","quantity":2},{"product_id":"prod-gadget","quantity":1}],"shipping_address":{"full_name":"Ada Lovelace","address_line_1":"1 Market St","city":"San Francisco","state":"CA","postal_code":"94105","country":"US"},"shipping_method":"standard","payment_method":"card"}'
# Writes the wrk script $1 that posts the order $2 as the load-test user.
post_script() {
    cat >"$1" <<LUA
wrk.method = "POST"
wrk.body = '$2'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
}
post_script "$servers_work/post.lua" "$body"
