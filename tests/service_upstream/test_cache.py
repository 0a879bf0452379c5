"""The cache: disk (atomic, bounded, LRU-ish), Redis (real, shared by workers), and its use by previews."""

from __future__ import annotations

import os
import threading
import time

import pytest
from service_support import make_app, redis_prefix, upstream_settings

from gis_service.cache import CacheEntry, DiskCache, MemoryCache, RedisCache, TieredCache, decode_entry, encode_entry

REDIS_URL = os.environ.get("GIS_SERVICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
EXAMPLE = "05987100100090______"


@pytest.fixture(scope="module")
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1).ping()
    except (redis.RedisError, OSError) as exc:
        pytest.skip(f"no Redis at {REDIS_URL} ({exc})")
    return REDIS_URL


@pytest.fixture
def redis_cache(redis_url):
    cache = RedisCache(redis_url, redis_prefix(), ttl=60, stale=60)
    yield cache
    cache.clear()
    cache.close()


def test_entry_round_trip_and_damage():
    entry = CacheEntry(b"\x89PNG data", 1700000000.5, {"currency": "2025-01-02"})
    blob = encode_entry("k", entry)
    assert decode_entry("k", blob) == entry
    assert decode_entry("other key", blob) is None  # a hash collision or a moved file is a miss
    assert decode_entry("k", blob[:10]) is None and decode_entry("k", b"garbage") is None


def test_disk_cache_writes_atomically_and_survives_a_new_process_view(tmp_path):
    cache = DiskCache(tmp_path, 10 * 1024 * 1024, ttl=60, stale=60)
    cache.put("a", b"x" * 1000, {"m": 1})
    assert cache.get("a").data == b"x" * 1000 and cache.get("a").meta == {"m": 1}
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != ".evict.lock"]
    assert len(files) == 1 and not files[0].name.startswith(".tmp-")
    again = DiskCache(tmp_path, 10 * 1024 * 1024, ttl=60, stale=60)  # another worker, same folder
    assert again.get("a").data == b"x" * 1000
    files[0].write_bytes(b"torn")  # whatever happens to a file, it is a miss, not an error
    assert again.get("a") is None


def test_disk_cache_concurrent_writers_never_show_half_a_file(tmp_path):
    cache = DiskCache(tmp_path, 50 * 1024 * 1024, ttl=60, stale=60)
    values = [bytes([i]) * 200_000 for i in range(8)]
    seen_bad = []

    def writer(i):
        for _ in range(20):
            cache.put("same", values[i])

    def reader():
        for _ in range(200):
            entry = cache.get("same")
            if entry is not None and entry.data not in values:
                seen_bad.append(len(entry.data))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not seen_bad


def test_disk_cache_stays_under_its_size_and_drops_the_least_recently_used(tmp_path):
    cache = DiskCache(tmp_path, 1_000_000, ttl=3600, stale=0)
    for i in range(6):
        cache.put(f"k{i}", bytes(150_000))
        os.utime(cache._path(f"k{i}"), (time.time() - 1000 + i, time.time() - 1000 + i))  # k0 oldest
    os.utime(cache._path("k0"), None)  # k0 was just read: the most recently used now
    cache.put("k6", bytes(150_000))  # over the limit: evicts down to 80 %
    assert cache.size() <= 800_000
    cache.put("k7", bytes(150_000))
    assert cache.size() <= 1_000_000
    assert all(cache.get(k) is not None for k in ("k0", "k6", "k7"))
    assert cache.get("k1") is None and cache.get("k2") is None  # the least recently used went first


def test_expired_entries_are_stale_then_gone(tmp_path):
    cache = DiskCache(tmp_path, 10_000_000, ttl=10, stale=100)
    entry = cache.put("k", b"v", created=time.time() - 50)
    assert cache.get("k") is not None and not cache.is_fresh(entry)  # stale: kept for outages
    cache.put("old", b"v", created=time.time() - 500)
    assert cache.get("old") is None


def test_memory_layer_in_front(tmp_path):
    back = DiskCache(tmp_path, 10_000_000, ttl=60, stale=60)
    cache = TieredCache(MemoryCache(1_000_000, 60, 60), back)
    cache.put("k", b"value")
    back.delete("k")
    assert cache.get("k").data == b"value"  # from memory
    other_worker = TieredCache(MemoryCache(1_000_000, 60, 60), back)
    back.put("j", b"from another worker")
    assert other_worker.get("j").data == b"from another worker"


def test_redis_cache_round_trip_ttl_and_prefix(redis_cache, redis_url):
    redis_cache.put("k", b"png bytes", {"currency": "2025-05-01"})
    entry = redis_cache.get("k")
    assert entry.data == b"png bytes" and entry.meta == {"currency": "2025-05-01"}
    ttl = redis_cache._client.ttl(redis_cache._key("k"))
    assert 100 <= ttl <= 120  # ttl + stale
    other = RedisCache(redis_url, redis_prefix(), ttl=60, stale=60)
    assert other.get("k") is None  # another prefix, another run
    other.close()
    redis_cache.delete("k")
    assert redis_cache.get("k") is None


def test_redis_down_is_a_miss_not_an_error():
    cache = RedisCache("redis://127.0.0.1:1/0", "nowhere", ttl=60, stale=60, timeout=0.2)
    start = time.monotonic()
    cache.put("k", b"v")
    assert cache.get("k") is None and cache.get("k") is None
    assert time.monotonic() - start < 1.0  # after the first failure Redis is left alone for a while


def test_two_workers_share_previews_and_upstream_images_through_redis(redis_url, mapserver, demo_upstream_url,
                                                                      tmp_path):
    prefix = redis_prefix()
    cache = {"backend": "redis", "redis_url": redis_url, "key_prefix": prefix}
    first = make_app(upstream_settings(tmp_path / "w1", demo_upstream_url, cache=cache)).test_client()
    second = make_app(upstream_settings(tmp_path / "w2", demo_upstream_url, cache=cache)).test_client()
    params = {"parcel": EXAMPLE, "scale": 500, "paper": "A4", "orientation": "landscape", "dpi": 110}
    try:
        made = first.get("/api/v1/preview.png", query_string=params)
        assert made.status_code == 200
        map_url = "/api/v1/map.png?bbox=352700,5703200,352900,5703400&width=222&height=111"
        assert first.get(map_url).status_code == 200
        second.get("/healthz")  # capabilities and service information are per worker
        second.get(f"/api/v1/parcels/{EXAMPLE}")
        hits = mapserver.hits("demo")
        again = second.get("/api/v1/preview.png", query_string=params)
        assert again.data == made.data and again.headers["X-Map-Source"].startswith("upstream")
        assert second.get(map_url).status_code == 200
        assert mapserver.hits("demo") == hits  # neither the page nor the map went upstream again
    finally:
        RedisCache(redis_url, prefix, 1, 1).clear()


def test_a_parcel_found_by_a_search_is_not_asked_for_again(upstream_app, mapserver):
    # The picker asks for the chosen suggestion's preview by key right after the search found it.
    client = upstream_app.test_client()
    found = client.get("/api/v1/parcels", query_string={"q": "Mühlenweg 12a"}).get_json()
    assert [feature["id"] for feature in found["parcels"]][:1] == [EXAMPLE]
    hits = mapserver.hits("demo")
    assert client.get(f"/api/v1/parcels/{EXAMPLE}").status_code == 200
    assert mapserver.hits("demo") == hits


def test_previews_are_cached_on_disk_by_default(upstream_app, mapserver):
    import pathlib

    client = upstream_app.test_client()
    params = {"parcel": EXAMPLE, "scale": 2000, "paper": "A3", "orientation": "portrait", "dpi": 72}
    first = client.get("/api/v1/preview.png", query_string=params)
    hits = mapserver.hits("demo")
    start = time.perf_counter()
    second = client.get("/api/v1/preview.png", query_string=params)
    assert time.perf_counter() - start < 0.05
    assert second.data == first.data and mapserver.hits("demo") == hits
    folder = pathlib.Path(upstream_app.instance_path) / "cache"
    assert any(folder.rglob("*.bin"))


def test_new_data_currency_means_new_previews(local_app, monkeypatch):
    from dataclasses import replace

    previews = local_app.extensions["gis_previews"]
    source = local_app.extensions["gis_source"]
    req = previews.plan_from_args({"parcel": EXAMPLE})
    before = previews.cache_key(req)
    info = source.info()
    monkeypatch.setattr(source, "info", lambda: replace(info, data_currency="2099-01-01"))
    assert previews.cache_key(req) != before
