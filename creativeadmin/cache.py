"""Django's Redis cache backend, keeping one client per connection pool.

Django's RedisCacheClient builds a new `redis.Redis` object for every cache operation (its
constructor registers some 170 response callbacks); serving does a cache operation on every
request, where that construction cost more than the round trip. A `redis.Redis` client is
safe to share between threads (connections come from its pool), so keep one per pool.

`incr` is one round trip (a script) where Django's is two (EXISTS, then INCRBY): the serving
throttle syncs its counts with it every few dozen serves.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient

# INCRBY only a key that exists (Django's incr raises ValueError for a missing one); false (nil) otherwise.
_INCR_EXISTING = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end
return false
"""


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}
        self._incr_existing = None

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client

    def incr(self, key, delta):
        client = self.get_client(key, write=True)
        if self._incr_existing is None:
            self._incr_existing = client.register_script(_INCR_EXISTING)  # run by its hash, loaded when missing
        value = self._incr_existing(keys=[key], args=[delta], client=client)
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
