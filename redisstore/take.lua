-- Record a token call in the account's call budget if it fits.
-- KEYS[1]  the calls key: a sorted set, one member per call, scored by the
--          time the call is (or will be) sent, in microseconds since
--          1970-01-01 UTC by the caller's clock
-- ARGV[1]  now, in the same unit
-- ARGV[2]  when the call will be sent, in the same unit
-- ARGV[3]  the most calls the window may hold
-- ARGV[4]  the window, in microseconds
-- ARGV[5]  a member name no other call has
-- ARGV[6]  how long the key outlives its newest call's window, in ms
-- Returns {1 if the call was recorded else 0, the scores of the calls in
-- the window, oldest first}. A key of another type is an error.
local key = KEYS[1]
local now, at = tonumber(ARGV[1]), tonumber(ARGV[2])
local limit, window = tonumber(ARGV[3]), tonumber(ARGV[4])

local kind = redis.call("TYPE", key).ok
if kind ~= "zset" and kind ~= "none" then
	return redis.error_reply("WRONGTYPE the call budget key holds a " .. kind .. ", not a sorted set")
end

-- Integers up to 2^53 are exact in Lua's numbers; format them without an
-- exponent.
local function int(x)
	return string.format("%.0f", x)
end

-- Forget calls that are no longer younger than the window, and calls
-- recorded more than a window ahead of now: only a host whose clock is far
-- ahead writes those, and kept they would hold slots until that clock's
-- time came.
redis.call("ZREMRANGEBYSCORE", key, "-inf", int(now - window))
redis.call("ZREMRANGEBYSCORE", key, "(" .. int(now + window), "+inf")
local n = redis.call("ZCARD", key)
-- Never more than limit, even after a caller that allowed more.
if n > limit then
	redis.call("ZREMRANGEBYRANK", key, 0, n - limit - 1)
	n = limit
end
local ok = 0
if n < limit then
	redis.call("ZADD", key, int(at), ARGV[5])
	ok = 1
end

local all = redis.call("ZRANGE", key, 0, -1, "WITHSCORES")
local out = { ok }
for i = 2, #all, 2 do
	out[#out + 1] = all[i]
end
if #all > 0 then
	-- The newest call leaves the window at its time plus the window.
	local newest = tonumber(all[#all])
	local ttl = math.ceil((newest + window - now) / 1000) + tonumber(ARGV[6])
	redis.call("PEXPIRE", key, int(ttl))
end
return out
