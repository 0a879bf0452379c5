"""Byte cache for rendered previews, upstream images and parcels: in memory, on disk (size-bounded) or in Redis."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

_MAGIC = b"GSC1"
_HEADER = struct.Struct(">4sI")  # magic, length of the JSON header that follows


@dataclass(frozen=True)
class CacheEntry:
    """A cached value, when it was made (epoch seconds) and what the caller noted about it."""

    data: bytes
    created: float
    meta: dict = field(default_factory=dict)

    def age(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.created


def encode_entry(key: str, entry: CacheEntry) -> bytes:
    header = json.dumps({"key": key, "created": entry.created, "meta": entry.meta}, separators=(",", ":")).encode()
    return _HEADER.pack(_MAGIC, len(header)) + header + entry.data


def decode_entry(key: str, blob: bytes) -> CacheEntry | None:
    """The entry stored for `key`, or None when the blob is damaged or belongs to another key."""
    if len(blob) < _HEADER.size:
        return None
    magic, length = _HEADER.unpack_from(blob)
    if magic != _MAGIC or _HEADER.size + length > len(blob):
        return None
    try:
        header = json.loads(blob[_HEADER.size : _HEADER.size + length])
    except ValueError:
        return None
    if header.get("key") != key:
        return None
    return CacheEntry(blob[_HEADER.size + length :], float(header["created"]), header.get("meta") or {})


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class HeldLock:
    """A lock taken by try_lock(); release() gives it back (also as a context manager)."""

    def __init__(self, release: Callable[[], None]):
        self._release = release
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._release()

    def __enter__(self) -> HeldLock:
        return self

    def __exit__(self, *_exc) -> None:
        self.release()


class _LocalLocks:
    """Named locks of this process (threads): the lock primitive of the memory cache."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held: set[str] = set()

    def try_lock(self, name: str) -> HeldLock | None:
        with self._guard:
            if name in self._held:
                return None
            self._held.add(name)
        return HeldLock(lambda: self._free(name))

    def _free(self, name: str) -> None:
        with self._guard:
            self._held.discard(name)


_LOCAL_LOCKS = _LocalLocks()


class Cache(ABC):
    """get() returns entries up to ttl + stale seconds old; is_fresh() tells the ones under ttl.

    Callers serve fresh entries as they are and keep stale ones for when the upstream fails.
    """

    def __init__(self, ttl: float, stale: float):
        self.ttl = ttl
        self.stale = stale

    @property
    def lifetime(self) -> float:
        return self.ttl + self.stale

    def is_fresh(self, entry: CacheEntry, now: float | None = None) -> bool:
        return entry.age(now) < self.ttl

    def is_current(self, entry: CacheEntry, currency: str | None) -> bool:
        """Fresh, and made under the data currency the source has now (meta "currency"; unknown on either side counts)."""
        made_under = entry.meta.get("currency")
        return self.is_fresh(entry) and (currency is None or made_under is None or made_under == currency)

    @abstractmethod
    def get(self, key: str) -> CacheEntry | None: ...

    @abstractmethod
    def put_entry(self, key: str, entry: CacheEntry) -> None: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    def put(self, key: str, data: bytes, meta: dict | None = None, created: float | None = None) -> CacheEntry:
        entry = CacheEntry(data, time.time() if created is None else created, dict(meta or {}))
        if self.lifetime > 0:
            self.put_entry(key, entry)
        return entry

    def close(self) -> None:
        pass

    def try_lock(self, name: str, seconds: float) -> HeldLock | None:
        """Take the lock `name` without waiting, or None when someone holds it. This process only;
        disk and Redis lock across processes too. `seconds` bounds how long a lock of a holder that
        died may block others (where the backend cannot tell that it died)."""
        return _LOCAL_LOCKS.try_lock(name)

    def describe(self) -> str:
        return type(self).__name__

    def readiness_problem(self) -> str | None:
        """Why the cache cannot be used now, or None (a memory cache always can)."""
        return None


class MemoryCache(Cache):
    """An LRU in this process, bounded by the bytes it holds; also the small layer in front of the others."""

    def __init__(self, max_bytes: int, ttl: float, stale: float):
        super().__init__(ttl, stale)
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, CacheEntry] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> CacheEntry | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            if entry.age() >= self.lifetime:
                self._drop(key)
                return None
            self._items.move_to_end(key)
            return entry

    def put_entry(self, key: str, entry: CacheEntry) -> None:
        if len(entry.data) > self.max_bytes // 4:
            return  # one A3 page must not empty the whole layer
        with self._lock:
            self._drop(key)
            self._items[key] = entry
            self._size += len(entry.data)
            while self._size > self.max_bytes and self._items:
                self._drop(next(iter(self._items)))

    def delete(self, key: str) -> None:
        with self._lock:
            self._drop(key)

    def _drop(self, key: str) -> None:
        entry = self._items.pop(key, None)
        if entry is not None:
            self._size -= len(entry.data)


class DiskCache(Cache):
    """Files under `root`, written atomically (temporary file + rename), evicted oldest-used first.

    Several processes may share the folder: readers never see half a file, and eviction is
    serialised with a lock file. Reading an entry refreshes its modification time (at most once a
    minute), which is what eviction orders by.
    """

    TOUCH_INTERVAL = 60.0
    TMP_PREFIX = ".tmp-"

    def __init__(self, root: Path, max_bytes: int, ttl: float, stale: float):
        super().__init__(ttl, stale)
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._size = self._scan_size()

    def describe(self) -> str:
        return f"disk {self.root} (max {self.max_bytes // (1024 * 1024)} MB)"

    def readiness_problem(self) -> str | None:
        if not os.access(self.root, os.W_OK | os.X_OK):
            return f"cache folder {self.root} is not writable"
        return None

    def _path(self, key: str) -> Path:
        name = digest(key)
        return self.root / name[:2] / f"{name[2:]}.bin"

    def get(self, key: str) -> CacheEntry | None:
        path = self._path(key)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cache: cannot read %s: %s", path, exc)
            return None
        entry = decode_entry(key, blob)
        if entry is None or entry.age() >= self.lifetime:
            self._unlink(path)
            return None
        self._touch(path)
        return entry

    def put_entry(self, key: str, entry: CacheEntry) -> None:
        path = self._path(key)
        blob = encode_entry(key, entry)
        try:
            path.parent.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=self.TMP_PREFIX)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(blob)
                os.replace(tmp, path)
            except BaseException:
                self._unlink(Path(tmp))
                raise
        except OSError as exc:
            log.warning("cache: cannot write %s: %s", path, exc)
            return
        with self._lock:
            self._size += len(blob)
            over = self._size > self.max_bytes
        if over:
            self.evict()

    def delete(self, key: str) -> None:
        self._unlink(self._path(key))

    def evict(self, target_fraction: float = 0.8) -> int:
        """Delete expired entries, then the least recently used until under target_fraction of max_bytes."""
        import fcntl

        removed = 0
        with self._lock, open(self.root / ".evict.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return 0  # another process is evicting right now
            try:
                files, total = [], 0
                now = time.time()
                for path, stat in self._files():
                    if path.name.startswith(self.TMP_PREFIX):
                        if now - stat.st_mtime > 3600:  # left by a process that died while writing
                            self._unlink(path)
                        continue
                    files.append((stat.st_mtime, stat.st_size, path))
                    total += stat.st_size
                files.sort()
                target = self.max_bytes * target_fraction
                for mtime, size, path in files:
                    # mtime is never older than the entry itself: past the lifetime means expired
                    if total <= target and now - mtime < self.lifetime:
                        break
                    self._unlink(path)
                    total -= size
                    removed += 1
                self._size = total
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        if removed:
            log.info("cache: evicted %d entries from %s", removed, self.root)
        return removed

    def try_lock(self, name: str, seconds: float) -> HeldLock | None:
        """A lock file under .locks/, held with flock: across threads and processes, freed by the kernel
        when its holder dies (so `seconds` is not needed here)."""
        import fcntl

        folder = self.root / ".locks"
        path = folder / f"{digest(name)}.lock"
        while True:
            try:
                folder.mkdir(exist_ok=True)
                descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                # A folder that cannot take lock files must not fail the request: work may be done
                # twice by several workers, never not at all (readiness reports the folder).
                log.warning("cache: cannot make the lock file %s (%s); locking in this process only", path, exc)
                return super().try_lock(name, seconds)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(descriptor)
                return None
            # The previous holder removes the file when it is done: a lock on a file no longer at
            # `path` locks nothing, so take the one that is there now.
            try:
                if os.fstat(descriptor).st_ino == os.stat(path).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(descriptor)

        def release() -> None:
            self._unlink(path)
            os.close(descriptor)

        return HeldLock(release)

    def size(self) -> int:
        return self._scan_size()

    def _files(self):
        for sub in os.scandir(self.root):
            if not sub.is_dir(follow_symlinks=False) or sub.name.startswith("."):  # .locks is no entry
                continue
            for item in os.scandir(sub.path):
                try:
                    yield Path(item.path), item.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue

    def _scan_size(self) -> int:
        return sum(stat.st_size for _, stat in self._files())

    def _touch(self, path: Path) -> None:
        try:
            if time.time() - path.stat().st_mtime > self.TOUCH_INTERVAL:
                os.utime(path)
        except OSError:
            pass

    @staticmethod
    def _unlink(path: Path) -> None:
        try:
            path.unlink()
        except OSError:
            pass


class RedisCache(Cache):
    """Entries in Redis, shared by every worker; each expires at ttl + stale (Redis EX).

    A Redis that does not answer must not take the service with it: errors count as misses and
    Redis is left alone for a few seconds after one.
    """

    BACKOFF = 5.0

    def __init__(self, url: str, prefix: str, ttl: float, stale: float, *, timeout: float = 0.5):
        super().__init__(ttl, stale)
        import redis

        self.prefix = prefix
        self.url = url
        self._client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._errors = (redis.RedisError, OSError)
        self._down_until = 0.0

    def describe(self) -> str:
        return f"redis {self.url} (prefix {self.prefix})"

    def readiness_problem(self) -> str | None:
        try:
            self._client.ping()
        except self._errors as exc:
            return f"cache redis {self.url} does not answer: {type(exc).__name__}"
        return None

    def _key(self, key: str) -> str:
        return f"{self.prefix}:{digest(key)}"

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, what: str, exc: Exception) -> None:
        self._down_until = time.monotonic() + self.BACKOFF
        log.warning("cache: redis %s failed (%s); not using it for %.0f s", what, exc, self.BACKOFF)

    def get(self, key: str) -> CacheEntry | None:
        if not self._available():
            return None
        try:
            blob = self._client.get(self._key(key))
        except self._errors as exc:
            self._failed("GET", exc)
            return None
        if blob is None:
            return None
        entry = decode_entry(key, blob)
        return entry if entry is not None and entry.age() < self.lifetime else None

    def put_entry(self, key: str, entry: CacheEntry) -> None:
        if not self._available():
            return
        seconds = max(1, int(self.lifetime - entry.age() + 0.999))
        try:
            self._client.set(self._key(key), encode_entry(key, entry), ex=seconds)
        except self._errors as exc:
            self._failed("SET", exc)

    def delete(self, key: str) -> None:
        try:
            self._client.delete(self._key(key))
        except self._errors as exc:
            self._failed("DEL", exc)

    # Deletes the lock only while it is still the holder's own (it may have expired and been taken since).
    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def try_lock(self, name: str, seconds: float) -> HeldLock | None:
        """SET NX with an expiry: one holder across every worker; a holder that dies frees it after `seconds`.

        While Redis does not answer, the lock is only this process's: work may then be done twice,
        never not at all.
        """
        if not self._available():
            return super().try_lock(name, seconds)
        key, token = f"{self.prefix}:lock:{digest(name)}", os.urandom(12).hex()
        try:
            if not self._client.set(key, token, nx=True, px=max(1, int(seconds * 1000))):
                return None
        except self._errors as exc:
            self._failed("SET NX", exc)
            return super().try_lock(name, seconds)

        def release() -> None:
            try:
                self._client.eval(self._RELEASE, 1, key, token)
            except self._errors as exc:
                self._failed("unlock", exc)

        return HeldLock(release)

    def clear(self) -> int:
        """Delete every key under this prefix (tests, `cache clear`)."""
        removed = 0
        for name in self._client.scan_iter(match=f"{self.prefix}:*", count=500):
            removed += self._client.delete(name)
        return removed

    def close(self) -> None:
        self._client.close()


class TieredCache(Cache):
    """A small in-process layer in front of disk or Redis."""

    def __init__(self, front: MemoryCache, back: Cache):
        super().__init__(back.ttl, back.stale)
        self.front = front
        self.back = back

    def describe(self) -> str:
        return f"memory ({self.front.max_bytes // (1024 * 1024)} MB) + {self.back.describe()}"

    def readiness_problem(self) -> str | None:
        return self.back.readiness_problem()

    def get(self, key: str) -> CacheEntry | None:
        entry = self.front.get(key)
        # A stale entry in front may have been refreshed by another worker behind it.
        if entry is not None and self.front.is_fresh(entry):
            return entry
        behind = self.back.get(key)
        if behind is not None:
            self.front.put_entry(key, behind)
            return behind
        return entry

    def put_entry(self, key: str, entry: CacheEntry) -> None:
        self.front.put_entry(key, entry)
        self.back.put_entry(key, entry)

    def try_lock(self, name: str, seconds: float) -> HeldLock | None:
        return self.back.try_lock(name, seconds)

    def delete(self, key: str) -> None:
        self.front.delete(key)
        self.back.delete(key)

    def close(self) -> None:
        self.back.close()


class ObservedCache(Cache):
    """Another cache, with every lookup told to `observe` as "hit" (fresh), "stale" (kept for outages) or "miss"."""

    def __init__(self, inner: Cache, observe: Callable[[str], None]):
        super().__init__(inner.ttl, inner.stale)
        self.inner = inner
        self.observe = observe

    def describe(self) -> str:
        return self.inner.describe()

    @property
    def front(self) -> Cache | None:
        """The inner cache's in-process layer: search results are kept there only (upstream_source)."""
        return getattr(self.inner, "front", None)

    def readiness_problem(self) -> str | None:
        return self.inner.readiness_problem()

    def get(self, key: str) -> CacheEntry | None:
        entry = self.inner.get(key)
        self.observe("miss" if entry is None else "hit" if self.inner.is_fresh(entry) else "stale")
        return entry

    def put_entry(self, key: str, entry: CacheEntry) -> None:
        self.inner.put_entry(key, entry)

    def try_lock(self, name: str, seconds: float) -> HeldLock | None:
        return self.inner.try_lock(name, seconds)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def close(self) -> None:
        self.inner.close()
