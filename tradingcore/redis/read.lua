-- Reads a user's open positions on one exchange from the projection (tradingcore/redis/reader.py).
--
-- KEYS: the projection:current mark, the projection:built token, the user's positions:slots map
-- (id -> hash key) and the user's positions counter (projection:positions:{user}:{exchange}).
-- ARGV[1]: a key prefix (positions:{user}:{exchange}:{symbol}:, or "" for every position).
-- Returns nil when the projection is not confirmed current (the caller reads PostgreSQL), else
-- {current, built, counter} followed by one flat field/value array per open position hash.
local current = redis.call('GET', KEYS[1])
if not current then return false end
local built = redis.call('GET', KEYS[2]) or ''
local counter = redis.call('GET', KEYS[4]) or '0'
local result = {current, built, counter}
local prefix = ARGV[1]
local slots = redis.call('HGETALL', KEYS[3])
for index = 2, #slots, 2 do
  local key = slots[index]
  if prefix == '' or string.sub(key, 1, #prefix) == prefix then
    local fields = redis.call('HGETALL', key)
    if #fields > 0 then table.insert(result, fields) end
  end
end
return result
