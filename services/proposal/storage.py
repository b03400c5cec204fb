"""A `DocumentStore` on a local directory: the default home of rendered proposals.

File I/O only; it knows nothing of proposals beyond opaque relative paths.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath


class StorageError(ValueError):
    """A path that would leave the store's root, or a document that is not there."""


class LocalDocumentStore:
    """Documents as files under `root`; URLs are `base_url` joined with the relative path."""

    def __init__(self, root: Path, base_url: str) -> None:
        self.root = root
        self.base_url = base_url.rstrip("/")

    def put(self, path: str, data: bytes) -> str:
        """Write atomically (temp file, then rename), so readers never see half a document."""
        target = self._resolve(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, target)
        return f"{self.base_url}/{path}"

    def get(self, path: str) -> bytes:
        target = self._resolve(path)
        if not target.is_file():
            raise StorageError(f"no document at {path!r}")
        return target.read_bytes()

    def _resolve(self, path: str) -> Path:
        relative = PurePosixPath(path)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise StorageError(f"document path {path!r} must stay inside the store")
        return self.root.joinpath(*relative.parts)
