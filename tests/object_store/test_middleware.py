"""What Swift runs as proxy middleware, on a real cloud (identity + object storage, one
per module): temp URLs (``swift tempurl``; account and container keys, sha1/sha256/
sha512, prefixes, IP ranges; bad or expired signatures 401), FormPost (an httpx
multipart upload), CORS (preflight and actual requests), staticweb (``swift post -r``,
index, listings, error pages) and account quotas set by a reseller admin."""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx
import pytest
from swiftclient import client as swift
from swiftclient.exceptions import ClientException

from tests.cloudproc import CloudProcess
from tests.object_store.conftest import connect, swift_cli


def test_temp_urls(cloud: CloudProcess, conn: swift.Connection) -> None:
    url, _ = conn.get_auth()
    root = url.split("/v1/")[0]
    path = "/v1/" + url.split("/v1/")[1] + "/shared/dir/report.txt"
    conn.put_container("shared")
    meta = {"X-Object-Meta-Secret": "s", "X-Object-Meta-Public-Tag": "t"}
    conn.put_object("shared", "dir/report.txt", b"quarterly", headers=meta)
    conn.post_account({"X-Account-Meta-Temp-URL-Key": "account-key"})
    args = ("tempurl", "--digest", "sha512", "GET", "60", path, "account-key")
    signed = swift_cli(cloud, *args).strip()
    expires = int(time.time()) + 60
    message = f"GET\n{expires}\n{path}".encode()
    for digest in ("sha1", "sha256", "sha512"):
        sig = hmac.new(b"account-key", message, getattr(hashlib, digest)).hexdigest()
        query = f"?temp_url_sig={sig}&temp_url_expires={expires}"
        got = httpx.get(root + (signed if digest == "sha512" else path + query))
        assert got.status_code == 200 and got.content == b"quarterly", digest
        assert got.headers["content-disposition"].startswith('attachment; filename="report.txt"')
        assert "x-object-meta-secret" not in got.headers  # only Public-* metadata leaves
        assert got.headers["x-object-meta-public-tag"] == "t"
    inline = httpx.get(root + signed + "&inline")
    assert inline.headers["content-disposition"] == "inline"
    # a wrong signature, an expired URL, a HEAD with a GET signature
    bad = httpx.get(root + signed.replace("temp_url_sig=sha512:", "temp_url_sig=sha512:AA"))
    assert bad.status_code == 401 and bad.text == "401 Unauthorized: Temp URL invalid\n"
    past = int(time.time()) - 10
    old = hmac.new(b"account-key", f"GET\n{past}\n{path}".encode(), hashlib.sha256).hexdigest()
    expired = httpx.get(f"{root}{path}?temp_url_sig={old}&temp_url_expires={past}")
    assert expired.status_code == 401
    assert httpx.head(root + signed).status_code == 200
    assert httpx.delete(root + signed).status_code == 401  # signed for GET only

    # a container key, a PUT, and a prefix URL
    conn.post_container("shared", {"X-Container-Meta-Temp-URL-Key": "container-key"})
    assert "x-container-meta-temp-url-key" in conn.head_container("shared")
    put_path = path.replace("report.txt", "upload.bin")
    mac = hmac.new(b"container-key", f"PUT\n{expires}\n{put_path}".encode(), hashlib.sha256)
    query = f"?temp_url_sig={mac.hexdigest()}&temp_url_expires={expires}"
    assert httpx.put(root + put_path + query, content=b"from a browser").status_code == 201
    assert conn.get_object("shared", "dir/upload.bin")[1] == b"from a browser"
    prefix = path.rsplit("/", 1)[0] + "/"
    mac = hmac.new(b"container-key", f"GET\n{expires}\nprefix:{prefix}".encode(), hashlib.sha256)
    query = f"?temp_url_sig={mac.hexdigest()}&temp_url_expires={expires}&temp_url_prefix=dir/"
    assert httpx.get(root + prefix + "upload.bin" + query).status_code == 200
    assert httpx.get(root + prefix.replace("/dir/", "/other") + query).status_code == 401
    # an IP range the client is not in
    ip_range = "10.0.0.0/8"
    body = f"ip={ip_range}\nGET\n{int(time.time()) + 60}\n{path}"
    sig = hmac.new(b"account-key", body.encode(), hashlib.sha256).hexdigest()
    query = f"temp_url_sig={sig}&temp_url_expires={int(time.time()) + 60}"
    outside = httpx.get(f"{root}{path}?{query}&temp_url_ip_range={ip_range}")
    assert outside.status_code == 401
    info = httpx.get(root + "/info").json()
    assert info["tempurl"]["methods"] == ["GET", "HEAD", "PUT", "POST", "DELETE"]
    assert set(info["formpost"]["allowed_digests"]) == {"sha1", "sha256", "sha512"}


def test_formpost(conn: swift.Connection) -> None:
    url, _ = conn.get_auth()
    conn.put_container("inbox")
    conn.post_account({"X-Account-Meta-Temp-URL-Key": "account-key"})
    path = "/v1/" + url.split("/v1/")[1] + "/inbox/up/"
    target = url.split("/v1/")[0] + path

    def form(redirect: str = "", size: int = 100, count: int = 2, expires: int = 0,
             key: str = "account-key") -> dict[str, str]:  # fmt: skip
        expires = expires or int(time.time() + 60)
        body = f"{path}\n{redirect}\n{size}\n{count}\n{expires}"
        sig = hmac.new(key.encode(), body.encode(), hashlib.sha512).hexdigest()
        return {"redirect": redirect, "max_file_size": str(size), "max_file_count": str(count),
                "expires": str(expires), "signature": sig}  # fmt: skip

    files: list[tuple[str, tuple[str, bytes, str]]] = [
        ("f1", ("a.txt", b"alpha", "text/plain")), ("f2", ("b.bin", b"beta", "")),
    ]  # fmt: skip
    done = httpx.post(target, data=form(), files=files)
    assert done.status_code == 201 and done.text == "201 Created"
    listed = {o["name"]: o["content_type"] for o in conn.get_container("inbox")[1]}
    assert listed == {"up/a.txt": "text/plain", "up/b.bin": "application/octet-stream"}
    redirected = httpx.post(target, data=form("https://example.com/ok"),
                            files=[("f", ("c.txt", b"c", ""))])  # fmt: skip
    assert redirected.status_code == 303
    assert redirected.headers["location"] == "https://example.com/ok?status=201&message="
    expired = httpx.post(target, data=form(expires=int(time.time()) - 1), files=files)
    assert expired.status_code == 401 and expired.text == "FormPost: Form Expired"
    forged = httpx.post(target, data=form(key="guess"), files=files)
    assert forged.status_code == 401 and forged.text == "FormPost: Invalid Signature"
    big = httpx.post(target, data=form(size=3), files=[("f", ("d.txt", b"too large", ""))])
    assert big.status_code == 400 and "max_file_size exceeded" in big.text
    many = httpx.post(target, data=form(count=1), files=files)
    assert many.status_code == 400 and "Max File Count Exceeded" in many.text
    assert len(conn.get_container("inbox")[1]) == 3  # the first file went in: a.txt again


def test_cors(conn: swift.Connection) -> None:
    url, _ = conn.get_auth()
    conn.put_container("app", {
        "X-Container-Read": ".r:*",
        "X-Container-Meta-Access-Control-Allow-Origin": "https://app.example",
        "X-Container-Meta-Access-Control-Max-Age": "600",
        "X-Container-Meta-Access-Control-Expose-Headers": "X-Custom",
    })  # fmt: skip
    conn.put_object("app", "data.json", b"{}", headers={"X-Object-Meta-Kind": "k"})
    asked = {"Origin": "https://app.example", "Access-Control-Request-Method": "PUT",
             "Access-Control-Request-Headers": "x-auth-token, content-type"}  # fmt: skip
    pre = httpx.options(f"{url}/app/data.json", headers=asked)
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == "https://app.example"
    assert pre.headers["access-control-max-age"] == "600"
    assert "PUT" in pre.headers["access-control-allow-methods"]
    assert pre.headers["access-control-allow-headers"] == "content-type, x-auth-token"
    other = httpx.options(f"{url}/app/data.json",
                          headers={**asked, "Origin": "https://evil.example"})  # fmt: skip
    assert other.status_code == 401
    got = httpx.get(f"{url}/app/data.json", headers={"Origin": "https://app.example"})
    assert got.headers["access-control-allow-origin"] == "https://app.example"
    exposed = got.headers["access-control-expose-headers"].split(", ")
    assert {"x-custom", "x-object-meta-kind", "etag"} <= set(exposed)
    plain = httpx.get(f"{url}/app/data.json", headers={"Origin": "https://evil.example"})
    assert plain.status_code == 200 and "access-control-allow-origin" not in plain.headers


def test_staticweb(cloud: CloudProcess, conn: swift.Connection) -> None:
    url, token = conn.get_auth()
    conn.put_container("www")
    swift_cli(cloud, "post", "-r", ".r:*,.rlistings", "www")
    web = {"X-Container-Meta-Web-Index": "index.html", "X-Container-Meta-Web-Error": "error.html"}
    conn.post_container("www", web)
    conn.put_object("www", "index.html", b"<h1>home</h1>", content_type="text/html")
    conn.put_object("www", "404error.html", b"<h1>lost</h1>", content_type="text/html")
    conn.put_object("www", "docs/guide.txt", b"read me")
    conn.put_object("www", "docs/img/logo.png", b"png")
    # anonymous: the index, redirects to the directory, error pages
    moved = httpx.get(f"{url}/www")
    assert moved.status_code == 301 and moved.headers["location"].endswith("/www/")
    assert httpx.get(f"{url}/www/").text == "<h1>home</h1>"
    missing = httpx.get(f"{url}/www/nothing.html")
    assert missing.status_code == 404 and missing.text == "<h1>lost</h1>"
    assert httpx.get(f"{url}/www/docs/guide.txt").text == "read me"
    # listings once turned on (with a style sheet), for pseudo-directories
    conn.post_container("www", {"X-Container-Meta-Web-Listings": "true",
                                "X-Container-Meta-Web-Listings-CSS": "style.css"})  # fmt: skip
    assert httpx.get(f"{url}/www/docs").status_code == 301
    page = httpx.get(f"{url}/www/docs/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'href="./guide%2Etxt">guide.txt</a>' in page.text
    assert 'href="./img/">img/</a>' in page.text and 'href="../style.css"' in page.text
    # an owner's request is the API, unless it asks for the web mode
    listed = httpx.get(f"{url}/www", headers={"X-Auth-Token": token})
    assert "index.html" in listed.text.split()
    mode = httpx.get(f"{url}/www/", headers={"X-Auth-Token": token, "X-Web-Mode": "true"})
    assert mode.text == "<h1>home</h1>"
    # anonymous object reads and listings follow the ACL (.r:* and .rlistings)
    conn.post_container("www", {"X-Container-Read": ".r:*"})
    assert httpx.get(f"{url}/www/docs/").status_code == 401
    conn.post_container("www", {"X-Remove-Container-Read": "x"})
    assert httpx.get(f"{url}/www/docs/guide.txt").status_code == 401


def test_account_quota_set_by_a_reseller(cloud: CloudProcess, conn: swift.Connection) -> None:
    sdk = cloud.sdk()
    role = sdk.identity.find_role("ResellerAdmin") or sdk.identity.create_role(name="ResellerAdmin")
    project = sdk.identity.find_project("admin")
    user = sdk.identity.create_user(name="tsver-reseller", password="s3cret-pass",
                                    default_project_id=project.id)  # fmt: skip
    sdk.identity.assign_project_role_to_user(project, user, role)
    reseller = connect(cloud, "tsver-reseller", "s3cret-pass", "admin")
    with pytest.raises(ClientException) as err:  # an account owner may not set its quota
        conn.post_account({"X-Account-Meta-Quota-Bytes": "100"})
    assert err.value.http_status == 403
    with pytest.raises(ClientException) as err:
        reseller.post_account({"X-Account-Quota-Bytes": "lots"})
    assert err.value.http_status == 400
    used = int(conn.head_account()["x-account-bytes-used"])
    reseller.post_account({"X-Account-Meta-Quota-Bytes": str(used + 10)})
    assert conn.head_account()["x-account-quota-bytes"] == str(used + 10)
    conn.put_container("quota")
    conn.put_object("quota", "fits", b"x" * 10)
    deadline = time.monotonic() + 30  # the account learns its usage from its containers
    while int(conn.head_account()["x-account-bytes-used"]) < used + 10:
        assert time.monotonic() < deadline
        time.sleep(0.3)
    with pytest.raises(ClientException) as err:
        conn.put_object("quota", "over", b"y")
    assert err.value.http_status == 413
    with pytest.raises(ClientException) as err:  # a copy is a write too
        conn.copy_object("quota", "fits", "/quota/copy")
    assert err.value.http_status == 413
    reseller.post_account({"X-Remove-Account-Meta-Quota-Bytes": "x"})
    conn.put_object("quota", "over", b"y")
