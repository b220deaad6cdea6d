-- Reads a user's open positions on one exchange from the projection (tradingcore/redis/reader.py).
--
-- KEYS[1]: the projection:synced mark; KEYS[2]: the user's positions:slots map (id -> hash key).
-- ARGV[1]: a key prefix (positions:{user}:{exchange}:{symbol}:), or "" for every position.
-- Returns nil when Redis does not hold the whole projection (the caller reads PostgreSQL), else
-- an array of flat field/value arrays, one per open position hash.
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local prefix = ARGV[1]
local slots = redis.call('HGETALL', KEYS[2])
local result = {}
for index = 2, #slots, 2 do
  local key = slots[index]
  if prefix == '' or string.sub(key, 1, #prefix) == prefix then
    local fields = redis.call('HGETALL', key)
    if #fields > 0 then table.insert(result, fields) end
  end
end
return result
