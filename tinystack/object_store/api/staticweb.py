"""Static web sites from containers, as Swift's staticweb middleware serves them to
anonymous GET/HEAD requests (and to any with ``X-Web-Mode: true``): the container's
``X-Container-Meta-Web-Index`` is served for the container and its pseudo-directories
(a path without its trailing slash is redirected, 301), ``Web-Listings: true`` renders
HTML listings (``Web-Listings-CSS``, ``Web-Listings-Label``), ``Web-Error: <suffix>``
answers a 401 or 404 with the object ``<status><suffix>``, and a zero-byte object of
``Web-Directory-Type`` (``application/directory``) is a directory.

Every read goes through the handlers as a sub-request with the caller's own headers, so
the container's ACLs decide what an anonymous visitor sees (listings need
``.rlistings``), as in Swift."""

from __future__ import annotations

import html
import json
import urllib.parse
from dataclasses import dataclass

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tinystack.object_store.api.tempurl import STATE as TEMPURL
from tinystack.object_store.services import containers
from tinystack.object_store.services.deps import Deps

META = "x-container-meta-web-"
LISTING_STYLE = """  <style type="text/css">
   h1 {font-size: 1em; font-weight: bold;}
   th {text-align: left; padding: 0px 1em 0px 1em;}
   td {padding: 0px 1em 0px 1em;}
   a {text-decoration: none;}
  </style>
"""


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""


def web_config(deps: Deps, account: str, container: str) -> dict[str, str] | None:
    """The container's ``web-*`` metadata (None when the container is unknown)."""
    reply = containers.cached_head(deps, account, container)
    if reply.status >= 300:
        return None
    return {k.lower()[len(META) :]: v.strip() for k, v in reply.headers.items()
            if k.lower().startswith(META)}  # fmt: skip


def _true(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1", "yes", "on", "t", "y")


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str:
    return next((v.decode("latin-1") for k, v in headers if k.lower() == name), "")


def _human(size: int) -> str:
    value, suffix = float(size), ""
    for unit in ("Ki", "Mi", "Gi", "Ti", "Pi"):
        if value < 1024:
            break
        value, suffix = value / 1024, unit
    return f"{size}" if not suffix else f"{round(value)}{suffix}"


class StaticWebMiddleware:
    def __init__(self, app: ASGIApp, state_key: str) -> None:
        self.app = app
        self.state_key = state_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._applies(scope):
            await self.app(scope, receive, send)
            return
        account, container, obj = (scope["path"].split("/", 4) + [""] * 5)[2:5]
        deps: Deps = getattr(scope["app"].state, self.state_key)
        web = await anyio.to_thread.run_sync(web_config, deps, account, container)
        site = Site(self.app, scope, web or {}, f"/v1/{account}/{container}", obj)
        if web is None or not ({"index", "listings", "error"} & set(web)):
            await self.app(scope, receive, send)
            return
        answer = await (site.for_object() if obj else site.for_container())
        if answer is None:
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in answer.headers if k.lower() != b"content-length"]
        body = b"" if scope["method"] == "HEAD" else answer.body
        headers.append((b"content-length", str(len(answer.body)).encode()))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _applies(scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return False
        parts = scope["path"].split("/", 4)
        if len(parts) < 4 or parts[1] != "v1" or not parts[3]:
            return False
        heads = {k.lower(): v for k, v in scope["headers"]}
        anonymous = b"x-auth-token" not in heads or TEMPURL in scope.get("state", {})
        return anonymous or _true(heads.get(b"x-web-mode", b"").decode("latin-1"))


class Site:
    """One static web request: its sub-requests and answers."""

    def __init__(self, app: ASGIApp, scope: Scope, web: dict[str, str], base: str, obj: str):
        self.app, self.scope, self.web, self.base, self.obj = app, scope, web, base, obj

    async def call(self, method: str, path: str, query: str = "") -> Answer:
        """A sub-request through the handlers, with the request's own headers."""
        sub = {**self.scope, "method": method, "path": path, "raw_path": path.encode(),
               "query_string": query.encode()}  # fmt: skip
        sub["raw_path"] = urllib.parse.quote(path).encode()
        found = Answer(500, [])
        chunks: list[bytes] = []
        done = anyio.Event()
        asked = False

        async def receive() -> Message:
            nonlocal asked
            if not asked:
                asked = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()  # a streaming answer listens for the client going away
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                found.status, found.headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        try:
            await self.app(sub, receive, send)
        finally:
            done.set()
        found.body = b"".join(chunks)
        return found

    async def error(self, answer: Answer) -> Answer:
        """An error answered with the container's error page, when it has one."""
        if not self.web.get("error"):
            return answer
        page = await self.call("GET", f"{self.base}/{answer.status}{self.web['error']}")
        if page.status >= 300:
            return answer
        return Answer(answer.status, page.headers, page.body)

    def redirect(self) -> Answer:
        location = urllib.parse.quote(self.scope["path"] + "/")
        body = b"<html><h1>Moved Permanently</h1><p>The resource has moved permanently.</p></html>"
        return Answer(301, [(b"location", location.encode()),
                            (b"content-type", b"text/html; charset=UTF-8")], body)  # fmt: skip

    async def for_container(self) -> Answer | None:
        check = await self.call("HEAD", self.base)
        if check.status >= 400:
            return await self.error(Answer(check.status, check.headers))
        if not self.web.get("listings") and not self.web.get("index"):
            if _true(_header(self.scope["headers"], b"x-web-mode")):
                return Answer(404, [(b"content-type", b"text/html; charset=UTF-8")])
            return None
        if not self.scope["path"].endswith("/"):
            return self.redirect()
        if not self.web.get("index"):
            return await self.listing("")
        page = await self.call(self.scope["method"], f"{self.base}/{self.web['index']}")
        if page.status == 404:
            return await self.listing("")
        if page.status >= 400:
            return await self.error(page)
        return page

    async def for_object(self) -> Answer | None:
        head = await self.call("HEAD", self.scope["path"])
        kind = self.web.get("directory-type") or "application/directory"
        size = _header(head.headers, b"content-length")
        directory = _header(head.headers, b"content-type") == kind and int(size or 0) <= 1
        if head.status < 400 and not directory:
            return None  # the object itself, streamed by the handlers
        if head.status >= 400 and head.status != 404:
            return Answer(head.status, head.headers)
        if not self.web.get("listings") and not self.web.get("index"):
            return None
        if self.web.get("index"):
            where = self.scope["path"].rstrip("/") + "/" + self.web["index"]
            page = await self.call(self.scope["method"], where)
            if page.status < 400:
                return self.redirect() if not self.scope["path"].endswith("/") else page
        if not self.scope["path"].endswith("/"):
            query = urllib.parse.urlencode(
                {"limit": "1", "delimiter": "/", "prefix": self.obj + "/", "format": "json"}
            )
            found = await self.call("GET", self.base, query)
            if found.status >= 300 or not found.body or not json.loads(found.body):
                return await self.error(Answer(404, [(b"content-type", b"text/html")]))
            return self.redirect()
        return await self.listing(self.obj)

    def _label(self) -> str:
        label = self.scope["path"]
        if self.web.get("listings-label"):
            label = self.web["listings-label"] + "/" + "/".join(label.split("/")[4:])
        return html.escape(label)

    def _css(self, prefix: str) -> str:
        css = self.web.get("listings-css", "")
        if css.startswith(("/", "http://", "https://")):
            path = urllib.parse.quote(css, ":/")
        else:
            path = "../" * prefix.count("/") + urllib.parse.quote(css)
        return f'  <link rel="stylesheet" type="text/css" href="{path}" />\n'

    async def listing(self, prefix: str) -> Answer:
        if not _true(self.web.get("listings")):
            return await self.error(Answer(404, [(b"content-type", b"text/html; charset=UTF-8")],
                                           self._disabled(prefix).encode()))  # fmt: skip
        query = {"delimiter": "/", "format": "json", **({"prefix": prefix} if prefix else {})}
        found = await self.call("GET", self.base, urllib.parse.urlencode(query))
        if found.status >= 300:
            return await self.error(found)
        rows = json.loads(found.body) if found.body else []
        if prefix and not rows:
            return await self.error(Answer(404, [(b"content-type", b"text/html")]))
        body = self._page(prefix, rows)
        headers = [(b"content-type", b"text/html; charset=UTF-8")]
        return Answer(200, headers, body.encode())

    def _disabled(self, prefix: str) -> str:
        style = self._css(prefix) if self.web.get("listings-css") else (
            "  <style type=\"text/css\">\n   h1 {font-size: 1em; font-weight: bold;}\n"
            "   p {font-size: 2}\n  </style>\n")  # fmt: skip
        body = (f"<!DOCTYPE html>\n<html>\n<head>\n<title>Listing of {self._label()}</title>\n"
                f"{style}</head>\n<body>  <h1>Web Listing Disabled</h1>   <p>The owner of "
                "this web site has disabled web listing.   <p>If you are the owner of this "
                "web site, you can enable   web listing by setting "
                "X-Container-Meta-Web-Listings.</p>")  # fmt: skip
        if self.web.get("index"):
            body += ("<h1>Index File Not Found</h1> <p>The owner of this web site has set  "
                     f"<b>X-Container-Meta-Web-Index: {self.web['index']}</b>.  However, "
                     "this file is not found.</p>")  # fmt: skip
        return body + " </body>\n</html>\n"

    def _page(self, prefix: str, rows: list[dict[str, object]]) -> str:
        label = self._label()
        style = self._css(prefix) if self.web.get("listings-css") else LISTING_STYLE
        out = [f"<!DOCTYPE html>\n<html>\n <head>\n  <title>Listing of {label}</title>\n",
               style, " </head>\n <body>\n", f'  <h1 id="title">Listing of {label}</h1>\n',
               '  <table id="listing">\n   <tr id="heading">\n'
               '    <th class="colname">Name</th>\n    <th class="colsize">Size</th>\n'
               '    <th class="coldate">Date</th>\n   </tr>\n']  # fmt: skip
        empty = '    <td class="colsize">&nbsp;</td>\n    <td class="coldate">&nbsp;</td>\n'
        if prefix:
            out.append('   <tr id="parent" class="item">\n    <td class="colname">'
                       f'<a href="../">../</a></td>\n{empty}   </tr>\n')  # fmt: skip
        for row in rows:
            if "subdir" in row:
                name = str(row["subdir"])[len(prefix) :]
                href = urllib.parse.quote(name).replace(".", "%2E")
                link = f'<a href="./{href}">{html.escape(name)}</a>'
                out.append('   <tr class="item subdir">\n    <td class="colname">'
                           f"{link}</td>\n{empty}   </tr>\n")  # fmt: skip
        for row in rows:
            if "name" not in row:
                continue
            name = str(row["name"])[len(prefix) :]
            kinds = " ".join("type-" + html.escape(t.lower())
                             for t in str(row["content_type"]).split("/"))  # fmt: skip
            when = html.escape(str(row["last_modified"])).split(".")[0].replace("T", " ")
            href = urllib.parse.quote(name).replace(".", "%2E")
            out.append(f'   <tr class="item {kinds}">\n    <td class="colname">'
                       f'<a href="./{href}">{html.escape(name)}</a></td>\n'
                       f'    <td class="colsize">{_human(int(str(row["bytes"])))}</td>\n'
                       f'    <td class="coldate">{when}</td>\n   </tr>\n')  # fmt: skip
        out.append("  </table>\n </body>\n</html>\n")
        return "".join(out)
