-- Applies projection blocks atomically (tradingcore/redis/projector.py sends it inside MULTI/EXEC).
--
-- ARGV[1]: a JSON array of blocks; ARGV[2]: the version keys' time to live (seconds).
-- Each block is {"vkey": key or "", "version": n, "ops": [...]}.
-- A block whose entity already holds a newer version in Redis (GET vkey > version) is skipped
-- whole: an older change never overwrites a newer one, whatever order the writers land in.
-- Returns the number of blocks applied.
--
-- Ops (each an array, its first element the name):
--   {"hreplace", key, {f, v, ...}, foreign}              the hash holds exactly these fields, unless it
--                                                         holds the field foreign (another program's hash)
--   {"sreplace", key, {member, ...}}                      the set holds these of our ids (UUIDs); other
--                                                         members (not ours) are left
--   {"hmerge", key, {f, v, ...}, {f, ...}}                set these fields, delete those (others kept)
--   {"hclaim", key, owner_field, owner, {f, v, ...}, {f, ...}, mode}
--                                                         hmerge (and mark the owner) if the hash has no
--                                                         owner or this one; mode "own": only if this one
--                                                         owns it already, "force": whoever owns it
--   {"hown", key, owner_field, owner, names_field, names, {f, v, ...}, mode}
--                                                         hclaim that also removes the fields this owner
--                                                         wrote last time and no longer writes (their
--                                                         names kept comma-joined in names_field)
--   {"hcount", key, owner_field, owner, field, n}         if owner owns the hash: set the running count
--                                                         field to n unless it already counts the same
--                                                         way (same sign, not zero)
--   {"hinit", {key, ...}, {f, v, ...}, seconds}           if the first key is missing: create every
--                                                         missing key with these fields, expiring
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

-- Whether key holds a value of redis_type or nothing. A legacy bot may keep a record of another
-- type under a key we share (HYPERRSI's position written as a JSON string): that key is the bot's.
local function holds(key, redis_type)
  local found = redis.call('TYPE', key).ok
  return found == 'none' or found == redis_type
end

local OPS = {}

OPS.hreplace = function(op)
  if op[4] and op[4] ~= '' and redis.call('HEXISTS', op[2], op[4]) == 1 then return end
  redis.call('DEL', op[2])
  hset_flat(op[2], op[3])
end

local UUID = '^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$'

OPS.sreplace = function(op)
  local wanted = {}
  for _, member in ipairs(op[3]) do wanted[member] = true end
  for _, member in ipairs(redis.call('SMEMBERS', op[2])) do
    if not wanted[member] and string.match(member, UUID) then redis.call('SREM', op[2], member) end
  end
  for _, member in ipairs(op[3]) do redis.call('SADD', op[2], member) end
end

OPS.hmerge = function(op)
  if not holds(op[2], 'hash') then return end
  hset_flat(op[2], op[3])
  hdel_list(op[2], op[4])
end

-- Whether owner may write the hash under mode ("" claim if free, "own" only its own, "force" always).
local function may_claim(key, owner_field, owner, mode)
  if not holds(key, 'hash') then return false end
  if mode == 'force' then return true end
  local current = redis.call('HGET', key, owner_field)
  if current == owner then return true end
  return current == false and mode ~= 'own'
end

local function split_names(text)
  local names = {}
  if text then
    for name in string.gmatch(text, '[^,]+') do names[name] = true end
  end
  return names
end

OPS.hclaim = function(op)
  if not may_claim(op[2], op[3], op[4], op[7] or '') then return end
  redis.call('HSET', op[2], op[3], op[4])
  hset_flat(op[2], op[5])
  hdel_list(op[2], op[6])
end

OPS.hown = function(op)
  local key, names_field = op[2], op[5]
  if not may_claim(key, op[3], op[4], op[8] or '') then return end
  local previous = split_names(redis.call('HGET', key, names_field))
  local current = split_names(op[6])
  redis.call('HSET', key, op[3], op[4], names_field, op[6])
  hset_flat(key, op[7])
  for name in pairs(previous) do
    if not current[name] then redis.call('HDEL', key, name) end
  end
end

OPS.hcount = function(op)
  if not holds(op[2], 'hash') or redis.call('HGET', op[2], op[3]) ~= op[4] then return end
  local wanted = tonumber(op[6])
  local running = tonumber(string.match(redis.call('HGET', op[2], op[5]) or '', '%-?%d+') or '0') or 0
  if running ~= 0 and (running > 0) == (wanted > 0) then return end
  redis.call('HSET', op[2], op[5], op[6])
end

OPS.hinit = function(op)
  if redis.call('EXISTS', op[2][1]) == 1 then return end
  for _, key in ipairs(op[2]) do
    if redis.call('EXISTS', key) == 0 then
      hset_flat(key, op[3])
      redis.call('EXPIRE', key, op[4])
    end
  end
end

OPS.hrelease = function(op)
  if holds(op[2], 'hash') and redis.call('HGET', op[2], op[3]) == op[4] then redis.call('DEL', op[2]) end
end

OPS.hreset = function(op)
  if not holds(op[2], 'hash') then return end
  local current = redis.call('HGET', op[2], op[3])
  if current ~= false and current ~= op[4] then return end
  redis.call('HDEL', op[2], op[3])
  hset_flat(op[2], op[5])
end

OPS.hdropifowned = function(op)
  if holds(op[2], 'hash') and redis.call('HEXISTS', op[2], op[3]) == 1 then redis.call('DEL', op[2]) end
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
  if not holds(key, 'list') then return end
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
  if not holds(op[2], 'list') then return end
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
