-- Save a token unless the stored one expires later.
-- KEYS[1]  the token key
-- ARGV[1]  the token as JSON
-- ARGV[2]  its expiry: whole seconds since 1970-01-01 UTC
-- ARGV[3]  its expiry: nanoseconds within that second
-- ARGV[4]  how far past Redis's clock an expiry may lie, in seconds
-- Returns 1 if the token was written, 0 if the stored one is newer, and -1
-- (writing nothing) if the token's own expiry lies further ahead than
-- ARGV[4]. A stored token whose expiry lies further ahead is damaged: it is
-- overwritten, so that it cannot turn every later save into a no-op.

-- TIME before a write needs effects replication on Redis before 5; later
-- versions always replicate effects.
if redis.replicate_commands then
	redis.replicate_commands()
end
local limit = tonumber(redis.call("TIME")[1]) + tonumber(ARGV[4])

-- rfc3339 reads a time as Go's encoding/json writes it
-- (2006-01-02T15:04:05.999999999Z07:00) into seconds and nanoseconds since
-- 1970-01-01 UTC, or nil.
local function rfc3339(v)
	if type(v) ~= "string" then
		return nil
	end
	local y, mo, d, h, mi, s, frac, zone =
		string.match(v, "^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)(%.?%d*)(.*)$")
	if not y then
		return nil
	end
	y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
	-- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
	-- days_from_civil).
	if mo <= 2 then
		y = y - 1
	end
	local era = math.floor(y / 400)
	local yoe = y - era * 400
	local doy = math.floor((153 * ((mo + 9) % 12) + 2) / 5) + d - 1
	local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
	local days = era * 146097 + doe - 719468
	local secs = days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s)
	if zone ~= "Z" then
		local sign, zh, zm = string.match(zone, "^([+-])(%d%d):(%d%d)$")
		if not sign then
			return nil
		end
		local off = tonumber(zh) * 3600 + tonumber(zm) * 60
		if sign == "+" then
			secs = secs - off
		else
			secs = secs + off
		end
	end
	local nanos = 0
	if #frac > 1 then
		nanos = tonumber(string.sub(string.sub(frac, 2) .. "000000000", 1, 9))
	end
	return secs, nanos
end

local newSecs, newNanos = tonumber(ARGV[2]), tonumber(ARGV[3])
if newSecs >= limit then
	return -1
end
local cur = redis.call("GET", KEYS[1])
if cur then
	local ok, old = pcall(cjson.decode, cur)
	-- A value that is not a token is overwritten.
	if ok and type(old) == "table" and type(old.access_token) == "string" and old.access_token ~= "" then
		local secs, nanos = rfc3339(old.expiry)
		if secs and secs < limit and (secs > newSecs or (secs == newSecs and nanos > newNanos)) then
			return 0
		end
	end
end
redis.call("SET", KEYS[1], ARGV[1])
return 1
