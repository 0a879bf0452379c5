"""Order files on disk: written atomically and fsynced, so a stored extract survives a crash."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

_NAME = re.compile(r"^[0-9a-f]{32}\.[a-z0-9]{1,5}$")


@dataclass(frozen=True)
class StoredFile:
    storage_name: str
    sha256: str
    size: int


class FileStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def save(self, data: bytes, suffix: str) -> StoredFile:
        suffix = suffix.lower().lstrip(".")
        if not re.fullmatch(r"[a-z0-9]{1,5}", suffix):
            raise ValueError(f"bad file suffix {suffix!r}")
        name = f"{uuid.uuid4().hex}.{suffix}"
        tmp = self.root / f".{name}.tmp"
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.root / name)
        self._sync_dir()
        return StoredFile(name, hashlib.sha256(data).hexdigest(), len(data))

    def path(self, storage_name: str) -> Path:
        if not _NAME.match(storage_name):
            raise ValueError("bad storage name")
        return self.root / storage_name

    def read(self, storage_name: str) -> bytes:
        return self.path(storage_name).read_bytes()

    def exists(self, storage_name: str) -> bool:
        try:
            return self.path(storage_name).is_file()
        except ValueError:
            return False

    def delete(self, storage_name: str) -> None:
        try:
            self.path(storage_name).unlink(missing_ok=True)
        except ValueError:
            pass

    def names_older_than(self, cutoff: float) -> list[str]:
        """Stored files (and leftover temporary files) last written before `cutoff` (a Unix time)."""
        found = []
        for entry in os.scandir(self.root):
            name = entry.name
            if not (_NAME.match(name) or (name.startswith(".") and name.endswith(".tmp") and _NAME.match(name[1:-4]))):
                continue
            try:
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    found.append(name)
            except FileNotFoundError:  # deleted meanwhile by another worker
                continue
        return found

    def delete_any(self, name: str) -> None:
        """Delete a stored or a leftover temporary file by its name in the folder."""
        if _NAME.match(name.removeprefix(".").removesuffix(".tmp")):
            (self.root / name).unlink(missing_ok=True)

    def _sync_dir(self) -> None:
        try:
            fd = os.open(self.root, os.O_RDONLY)
        except OSError:  # pragma: no cover - platforms without directory handles
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
