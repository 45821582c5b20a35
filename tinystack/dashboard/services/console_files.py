"""The console's files: the prebuilt bundles of the ``skyline-console`` package (or
``[dashboard] console_path``); any other path is the single-page app's ``index.html``,
served with tinystack's live-list script (``static/live.js``) added to it."""

from __future__ import annotations

import functools
import importlib.util
import mimetypes
from dataclasses import dataclass
from pathlib import Path

#: the console's language unless the browser chose one (it offers "en" and "zh-cn")
DEFAULT_LANGUAGE = "en"
MISSING = (
    "<!doctype html><title>tinystack dashboard</title><h1>The console is not installed</h1>"
    "<p>Install it with <code>pip install 'tinystack[dashboard]'</code> (the "
    "<code>skyline-console</code> package) and restart the cloud.</p>"
)


LIVE_SCRIPT = Path(__file__).parent.parent / "static" / "live.js"


@dataclass(frozen=True, slots=True)
class ConsoleFile:
    path: Path
    media_type: str
    #: a precompressed ``.gz`` beside it, served to clients that accept gzip
    gzipped: Path | None
    #: hashed bundle names may be cached for long; index.html must not be
    immutable: bool


def console_root(configured: str) -> Path | None:
    if configured:
        return Path(configured)
    spec = importlib.util.find_spec("skyline_console")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations))) / "static"
    return root if (root / "index.html").is_file() else None


def find(root: Path, path: str) -> ConsoleFile:
    """The file a console path names (index.html for the app's own routes)."""
    candidate = (root / path.lstrip("/")).resolve()
    inside = candidate.is_relative_to(root.resolve())
    if not (inside and candidate.is_file()):
        candidate = root / "index.html"
    media = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
    gz = candidate.with_name(candidate.name + ".gz")
    return ConsoleFile(candidate, media, gz if gz.is_file() else None,
                       candidate.name != "index.html")  # fmt: skip


def index_html(index: Path) -> str:
    """The console's ``index.html`` with the live-list script before ``</body>``."""
    return _index_html(index, index.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _index_html(index: Path, mtime_ns: int) -> str:
    del mtime_ns  # only part of the cache key: a changed file is read again
    page = index.read_text(encoding="utf-8")
    script = f"<script>{LIVE_SCRIPT.read_text(encoding='utf-8')}</script>"
    at = page.rfind("</body>")
    return page[:at] + script + page[at:] if at >= 0 else page + script
