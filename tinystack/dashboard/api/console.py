"""The console itself: its files, or a page saying how to install it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from tinystack.dashboard.api.deps import get_deps
from tinystack.dashboard.services import console_files


def serve(request: Request, path: str = "") -> Response:
    root = console_files.console_root(get_deps(request).opts.console_path)
    if root is None:
        return HTMLResponse(console_files.MISSING, status_code=503)
    found = console_files.find(root, path)
    headers = {"Cache-Control": "public, max-age=86400" if found.immutable else "no-cache"}
    if not found.immutable and "lang" not in request.cookies:
        # the console falls back to Chinese for any browser language but its two
        headers["Set-Cookie"] = f"lang={console_files.DEFAULT_LANGUAGE}; Path=/; SameSite=Strict"
    if not found.immutable:
        return HTMLResponse(console_files.index_html(found.path), headers=headers)
    if found.gzipped and "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        headers["Vary"] = "Accept-Encoding"
        return FileResponse(found.gzipped, media_type=found.media_type, headers=headers)
    return FileResponse(found.path, media_type=found.media_type, headers=headers)
