-- Reads a user's open positions on one exchange from the projection (tradingcore/redis/reader.py).
--
-- KEYS[1]: the projection:current mark; KEYS[2]: the user's positions:slots map (id -> hash key).
-- ARGV[1]: a key prefix (positions:{user}:{exchange}:{symbol}:), or "" for every position.
-- Returns nil when the projection is not confirmed current (the caller reads PostgreSQL), else
-- an array: the mark's value (epoch ms), then one flat field/value array per open position hash.
local current = redis.call('GET', KEYS[1])
if not current then return false end
local prefix = ARGV[1]
local slots = redis.call('HGETALL', KEYS[2])
local result = {current}
for index = 2, #slots, 2 do
  local key = slots[index]
  if prefix == '' or string.sub(key, 1, #prefix) == prefix then
    local fields = redis.call('HGETALL', key)
    if #fields > 0 then table.insert(result, fields) end
  end
end
return result
