"""Django's Redis cache backend, keeping one client per connection pool.

Django's RedisCacheClient builds a new `redis.Redis` object for every cache operation (its
constructor registers some 170 response callbacks); serving does a cache operation on every
request, where that construction cost more than the round trip. A `redis.Redis` client is
safe to share between threads (connections come from its pool), so keep one per pool.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
