-- Applies projection blocks atomically (tradingcore/redis/projector.py sends it inside MULTI/EXEC).
--
-- ARGV[1]: a JSON array of blocks; ARGV[2]: the version keys' time to live (seconds).
-- Each block is {"vkey": key or "", "version": n, "ops": [...]}.
-- A block whose entity already holds a newer version in Redis (GET vkey > version) is skipped
-- whole: an older change never overwrites a newer one, whatever order the writers land in.
-- Returns the number of blocks applied.
--
-- Ops (each an array, its first element the name):
--   {"hreplace", key, {f, v, ...}}                       the hash holds exactly these fields
--   {"hmerge", key, {f, v, ...}, {f, ...}}                set these fields, delete those (others kept)
--   {"hclaim", key, owner_field, owner, {f, v, ...}, {f, ...}}
--                                                         hmerge if the hash has no owner or this one
--   {"hrelease", key, owner_field, owner}                delete the hash if owner owns it
--   {"hreset", key, owner_field, owner, {f, v, ...}}      if owner owns the hash or nobody does: set these
--                                                         fields and drop the owner mark (an emptied slot)
--   {"hdropifowned", key, owner_field}                   delete the hash if it carries our owner field
--   {"hsetfield", key, field, value} / {"hdelfield", key, field}
--   {"sadd", key, member} / {"srem", key, member} / {"del", key} / {"incr", key}
--   {"pexpireat", key, ms} / {"persist", key} / {"expire", key, seconds}
--   {"lupsert", key, match, item, cap, own}              replace in place the item containing the
--                                                         text match, else push it at the head; then
--                                                         keep at most cap items (own ~= "": only
--                                                         items containing own count and are trimmed)
--   {"lremove", key, match}                               remove every item containing the text match
--   {"xadd", key, maxlen, {f, v, ...}}
--   {"setversion", vkey, version}                        raise an entity's version (never lowers it)

local function hset_flat(key, flat)
  if #flat > 0 then redis.call('HSET', key, unpack(flat)) end
end

local function hdel_list(key, names)
  if #names > 0 then redis.call('HDEL', key, unpack(names)) end
end

local function contains(item, text)
  return string.find(item, text, 1, true) ~= nil
end

local function trim(key, cap, own)
  if cap <= 0 then return end
  if own == '' then
    redis.call('LTRIM', key, 0, cap - 1)
    return
  end
  local kept = 0
  for _, item in ipairs(redis.call('LRANGE', key, 0, -1)) do
    if contains(item, own) then
      kept = kept + 1
      if kept > cap then redis.call('LREM', key, 1, item) end
    end
  end
end

local OPS = {}

OPS.hreplace = function(op)
  redis.call('DEL', op[2])
  hset_flat(op[2], op[3])
end

OPS.hmerge = function(op)
  hset_flat(op[2], op[3])
  hdel_list(op[2], op[4])
end

OPS.hclaim = function(op)
  local current = redis.call('HGET', op[2], op[3])
  if current == false or current == op[4] then
    redis.call('HSET', op[2], op[3], op[4])
    hset_flat(op[2], op[5])
    hdel_list(op[2], op[6])
  end
end

OPS.hrelease = function(op)
  if redis.call('HGET', op[2], op[3]) == op[4] then redis.call('DEL', op[2]) end
end

OPS.hreset = function(op)
  local current = redis.call('HGET', op[2], op[3])
  if current ~= false and current ~= op[4] then return end
  redis.call('HDEL', op[2], op[3])
  hset_flat(op[2], op[5])
end

OPS.hdropifowned = function(op)
  if redis.call('HEXISTS', op[2], op[3]) == 1 then redis.call('DEL', op[2]) end
end

OPS.hsetfield = function(op) redis.call('HSET', op[2], op[3], op[4]) end
OPS.hdelfield = function(op) redis.call('HDEL', op[2], op[3]) end
OPS.sadd = function(op) redis.call('SADD', op[2], op[3]) end
OPS.srem = function(op) redis.call('SREM', op[2], op[3]) end
OPS.del = function(op) redis.call('DEL', op[2]) end
OPS.incr = function(op) redis.call('INCR', op[2]) end
OPS.pexpireat = function(op) redis.call('PEXPIREAT', op[2], op[3]) end
OPS.persist = function(op) redis.call('PERSIST', op[2]) end
OPS.expire = function(op) redis.call('EXPIRE', op[2], op[3]) end

OPS.lupsert = function(op)
  local key, match, item = op[2], op[3], op[4]
  local items = redis.call('LRANGE', key, 0, -1)
  local found = false
  for index, existing in ipairs(items) do
    if contains(existing, match) then
      if not found then
        redis.call('LSET', key, index - 1, item)
        found = true
      else
        redis.call('LREM', key, 1, existing)
      end
    end
  end
  if not found then redis.call('LPUSH', key, item) end
  trim(key, op[5], op[6])
end

OPS.lremove = function(op)
  for _, existing in ipairs(redis.call('LRANGE', op[2], 0, -1)) do
    if contains(existing, op[3]) then redis.call('LREM', op[2], 0, existing) end
  end
end

OPS.setversion = function(op)
  local current = tonumber(redis.call('GET', op[2]) or '0')
  if current < op[3] then redis.call('SET', op[2], op[3], 'EX', ARGV[2]) end
end

OPS.xadd = function(op)
  redis.call('XADD', op[2], 'MAXLEN', '~', op[3], '*', unpack(op[4]))
end

local applied = 0
for _, block in ipairs(cjson.decode(ARGV[1])) do
  local newer = false
  if block.vkey ~= '' then
    local current = tonumber(redis.call('GET', block.vkey) or '0')
    newer = current > block.version
  end
  if not newer then
    for _, op in ipairs(block.ops) do OPS[op[1]](op) end
    if block.vkey ~= '' then redis.call('SET', block.vkey, block.version, 'EX', ARGV[2]) end
    applied = applied + 1
  end
end
return applied
