-- Read the token key without sending a value larger than a token can be.
-- KEYS[1]  the token key
-- ARGV[1]  the largest value returned, in bytes
-- Returns the value; its length (an integer) if it is larger than ARGV[1];
-- nil if the key does not exist. A key of another type is an error.
local n = redis.call("STRLEN", KEYS[1])
if n > tonumber(ARGV[1]) then
	return n
end
return redis.call("GET", KEYS[1])
