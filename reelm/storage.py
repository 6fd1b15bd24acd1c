"""Object storage per realm through obstore: local files by default, S3-compatible stores in production."""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import obstore
from obstore.exceptions import NotFoundError
from obstore.store import LocalStore, ObjectStore, S3Store

from reelm.settings import Settings

CHUNK = 256 * 1024

mimetypes.add_type("application/vnd.apple.mpegurl", ".m3u8")
mimetypes.add_type("video/iso.segment", ".m4s")


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str
    last_modified: datetime
    content_type: str


class ObjectMissingError(LookupError):
    pass


class RealmStore(Protocol):
    """The operations the rest of the code needs, whatever the backend."""

    async def put_file(self, key: str, path: Path) -> None: ...
    async def put_bytes(self, key: str, data: bytes) -> None: ...
    async def head(self, key: str) -> ObjectInfo: ...
    async def read(self, key: str) -> bytes: ...
    def stream(self, key: str, start: int, end: int) -> AsyncIterator[bytes]: ...
    async def download(self, key: str, path: Path) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def delete_prefix(self, prefix: str) -> int: ...
    async def keys(self, prefix: str) -> list[str]: ...


def content_type_for(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


class ObstoreRealmStore:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    async def put_file(self, key: str, path: Path) -> None:
        await obstore.put_async(self._store, key, path)

    async def put_bytes(self, key: str, data: bytes) -> None:
        await obstore.put_async(self._store, key, data)

    async def head(self, key: str) -> ObjectInfo:
        try:
            meta = await obstore.head_async(self._store, key)
        except (NotFoundError, FileNotFoundError) as exc:
            raise ObjectMissingError(key) from exc
        etag = meta["e_tag"] or f"{meta['size']:x}-{int(meta['last_modified'].timestamp() * 1e6):x}"
        return ObjectInfo(meta["size"], etag.strip('"'), meta["last_modified"], content_type_for(key))

    async def read(self, key: str) -> bytes:
        try:
            result = await obstore.get_async(self._store, key)
        except (NotFoundError, FileNotFoundError) as exc:
            raise ObjectMissingError(key) from exc
        return bytes(await result.bytes_async())

    async def stream(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes [start, end) of an object, in chunks, without holding it all in memory."""
        if end <= start:
            return
        result = await obstore.get_async(self._store, key, options={"range": (start, end)})
        async for chunk in result.stream(min_chunk_size=CHUNK):
            yield bytes(chunk)

    async def download(self, key: str, path: Path) -> None:
        try:
            result = await obstore.get_async(self._store, key)
        except (NotFoundError, FileNotFoundError) as exc:
            raise ObjectMissingError(key) from exc
        with path.open("wb") as out:
            async for chunk in result.stream(min_chunk_size=CHUNK):
                out.write(chunk)

    async def delete(self, key: str) -> None:
        """Remove one object; removing one that is already gone is not an error."""
        try:
            await obstore.delete_async(self._store, key)
        except (NotFoundError, FileNotFoundError):
            return

    async def keys(self, prefix: str) -> list[str]:
        """Every key under `prefix/`."""
        found: list[str] = []
        async for batch in obstore.list(self._store, prefix=prefix.rstrip("/") + "/"):
            found.extend(item["path"] for item in batch)
        return found

    async def delete_prefix(self, prefix: str) -> int:
        keys = await self.keys(prefix)
        if keys:
            await obstore.delete_async(self._store, keys)
        return len(keys)


def open_store(url: str) -> ObjectStore:
    """A store from `file:///abs/dir` or `s3://bucket/prefix?endpoint=...&region=...&allow_http=true`.

    S3 credentials come from the standard AWS_* environment variables, never from the URL, so that
    configuration can be shown without revealing secrets.
    """
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalStore(prefix=Path(parts.path), mkdir=True)
    if parts.scheme == "s3":
        options: dict[str, Any] = dict(parse_qsl(parts.query))
        if "allow_http" in options:
            options["client_options"] = {"allow_http": options.pop("allow_http") == "true"}
        return S3Store(parts.netloc, prefix=parts.path.strip("/") or None, **options)
    raise ValueError(f"unsupported storage URL scheme: {parts.scheme!r}")


class Storage:
    """Stores of every realm, built once per process."""

    def __init__(self, settings: Settings, realms: list[str] | None = None) -> None:
        self._stores: dict[str, RealmStore] = {}
        for realm in settings.realms:
            if realms is not None and realm.name not in realms:
                continue
            url = realm.storage_url or (settings.data_dir.resolve() / "objects" / realm.name).as_uri()
            self._stores[realm.name] = ObstoreRealmStore(open_store(url))

    def realm(self, name: str) -> RealmStore:
        return self._stores[name]
