"""Static files: only regular files inside one folder, with validators and gzip.

Why: Sanic's ``bp.static`` answered 500 for ``/console/static/`` (a directory:
IsADirectoryError) and for ``app.js%00.png`` (an embedded null byte), and sent
no validators, so every console load re-downloaded every file. Here a path is
decoded once and checked by its parts: malformed (bad percent-encoding, NUL or
control characters, backslashes) is 400; anything that is not a regular,
non-hidden file inside the folder (``..``, empty parts, directories, symlinks
out of it, missing files) is 404. Answers carry ``ETag`` and
``Last-Modified`` (304 on ``If-None-Match`` / ``If-Modified-Since``), are
gzip-compressed when the client accepts it, and work for ``HEAD``.
``send_files`` answers with several files joined by a newline, validated as
one (the widget's script: ``bot/server/widget.py``).
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote

from sanic import response
from sanic.exceptions import InvalidUsage, NotFound
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.web.cors import add_vary

TYPES = {
    ".js": "application/javascript; charset=utf-8",
    ".mjs": "application/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
    ".map": "application/json",
}
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
MIN_GZIP = 512
# Not fingerprinted URLs: browsers revalidate (a 304 costs one round trip), so an upgrade is seen at once.
REVALIDATE = "no-cache"


class BadPath(InvalidUsage):
    """400: a path no file can have."""


def parts(raw: str) -> list[str]:
    """The parts of the URL path ``raw`` (still percent-encoded), checked."""
    try:
        relative = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise BadPath("malformed path") from None
    if "\\" in relative or any(ord(c) < 0x20 or ord(c) == 0x7F for c in relative):
        raise BadPath("malformed path")
    found = relative.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in found):
        raise NotFound("not found")
    return found


def resolve(root: Path, raw: str) -> Path:
    """The regular file under ``root`` that the URL path ``raw`` (still percent-encoded) names."""
    base = root.resolve()
    try:
        path = base.joinpath(*parts(raw)).resolve()
    except (OSError, RuntimeError):
        raise NotFound("not found") from None
    if not path.is_relative_to(base) or not path.is_file():
        raise NotFound("not found")
    return path


@dataclass(frozen=True)
class _Loaded:
    key: tuple[tuple[int, int], ...]  # (size, mtime_ns) of each file: reloaded when one changes
    body: bytes
    gzipped: bytes | None
    etag: str
    modified: float


_cache: dict[tuple[Path, ...], _Loaded] = {}


def _load(paths: tuple[Path, ...], content_type: str) -> _Loaded:
    stats = [path.stat() for path in paths]
    key = tuple((stat.st_size, stat.st_mtime_ns) for stat in stats)
    cached = _cache.get(paths)
    if cached is not None and cached.key == key:
        return cached
    body = b"\n".join(path.read_bytes() for path in paths)
    compress = content_type.startswith(COMPRESSIBLE) and len(body) >= MIN_GZIP
    gzipped = gzip.compress(body, compresslevel=6, mtime=0) if compress else None
    modified = max(stat.st_mtime for stat in stats)
    loaded = _Loaded(key, body, gzipped, hashlib.sha256(body).hexdigest()[:20], modified)
    _cache[paths] = loaded
    return loaded


def _accepts_gzip(request: Request) -> bool:
    for item in request.headers.get("accept-encoding", "").split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip().lower()
            return not (q.startswith("q=") and q[2:].strip() in ("0", "0.0", "0.00", "0.000"))
    return False


def _matches(header: str, etags: set[str]) -> bool:
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or bool(tags & etags)


def _not_modified_since(request: Request, modified: float) -> bool:
    header = request.headers.get("if-modified-since")
    if not header:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return int(modified) <= since.timestamp()


def send_file(
    request: Request, path: Path, cache_control: str = REVALIDATE, content_type: str | None = None
) -> HTTPResponse:
    """``path`` (already checked) as the answer to a GET or HEAD."""
    return send_files(request, (path,), cache_control, content_type)


def send_files(
    request: Request, paths: tuple[Path, ...], cache_control: str = REVALIDATE, content_type: str | None = None
) -> HTTPResponse:
    """``paths`` (already checked, their type that of the last) joined by a newline, as one file."""
    path = paths[-1]
    content_type = (
        content_type
        or TYPES.get(path.suffix.lower())
        or (mimetypes.guess_type(path.name)[0] or "application/octet-stream")
    )
    try:
        loaded = _load(paths, content_type)
    except OSError:
        raise NotFound("not found") from None
    use_gzip = loaded.gzipped is not None and _accepts_gzip(request)
    etag = f'"{loaded.etag}-gz"' if use_gzip else f'"{loaded.etag}"'
    headers = {"ETag": etag, "Last-Modified": formatdate(loaded.modified, usegmt=True), "Cache-Control": cache_control}
    inm = request.headers.get("if-none-match")
    fresh = (
        _matches(inm, {f'"{loaded.etag}"', f'"{loaded.etag}-gz"'})
        if inm
        else _not_modified_since(request, loaded.modified)
    )
    if fresh:
        reply = response.empty(status=304, headers=headers)
    else:
        if use_gzip:
            headers["Content-Encoding"] = "gzip"
        reply = response.raw(loaded.gzipped if use_gzip else loaded.body, content_type=content_type, headers=headers)
    if loaded.gzipped is not None:
        add_vary(reply.headers, "Accept-Encoding")
    return reply
