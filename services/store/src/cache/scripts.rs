//! The Lua scripts of the Redis backend: each runs as one atomic step
//! inside Redis, so replicas sharing a key never interleave.

use std::sync::LazyLock;

/// [`kernel::rate_limit::gcra`] in Lua: the bucket's theoretical arrival
/// time in microseconds of Redis' clock; answers 0 (token taken) or the
/// microseconds to wait. The key expires once the bucket is full again.
pub(super) static TAKE_TOKEN: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allowed_from = new_tat - burst * interval
if now < allowed_from then return allowed_from - now end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return 0
",
    )
});

/// [`kernel::rate_limit::BackOff::attempt`] in Lua, on a hash holding the
/// counter (`count`, `last` in ms of the caller's clock): answers 0 (the
/// attempt goes ahead and is counted) or the milliseconds to wait. The key
/// expires when the policy's window would forget it anyway.
pub(super) static TAKE_ATTEMPT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local now = tonumber(ARGV[1])
local free = tonumber(ARGV[2])
local base = tonumber(ARGV[3])
local max = tonumber(ARGV[4])
local window = tonumber(ARGV[5])
local stored = redis.call('HMGET', KEYS[1], 'count', 'last')
local count, last = 0, 0
if stored[1] and stored[2] then
  count = tonumber(stored[1])
  last = tonumber(stored[2])
  if now - last >= window then count, last = 0, 0 end
end
if count >= free then
  local delay = max
  if count - free < 63 then delay = math.min(base * 2 ^ (count - free), max) end
  local elapsed = now - last
  if elapsed < 0 then elapsed = 0 end
  if elapsed < delay then return delay - elapsed end
end
if last > now then now = last end
redis.call('HSET', KEYS[1], 'count', string.format('%d', count + 1), 'last', string.format('%d', now))
redis.call('PEXPIRE', KEYS[1], window)
return 0
",
    )
});

/// Takes one attempt back from a back-off counter, if there is one.
pub(super) static FORGIVE_ATTEMPT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
if count > 0 then redis.call('HSET', KEYS[1], 'count', string.format('%d', count - 1)) end
return 0
",
    )
});
