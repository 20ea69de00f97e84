-- wrk script for POST /relay: one valid relay request, sent as JSON.
-- Used by benches/http-bench.sh; by hand: wrk -c64 -d10s -s relay-http/benches/relay.lua http://HOST:PORT/relay
wrk.method = "POST"
wrk.body = '{"guild_id":"123456789012345678","channel_id":"223456789012345678","user_id":"323456789012345678","content":"Hello, I need help with my order","message_id":"423456789012345678"}'
wrk.headers["Content-Type"] = "application/json"
