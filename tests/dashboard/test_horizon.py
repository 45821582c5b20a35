"""Upstream Horizon (``pip install tinystack[horizon]``) served by the dashboard service,
driven in Debian's chromium: the admin walks every panel of the project, admin and
identity dashboards (no error message on a page, no 5xx answer, no 500 in Horizon's log);
the demo user boots a server with the Launch Instance workflow, sees it in the example
custom panel (``examples/horizon_panel``, loaded through its ``enabled/`` files),
allocates a floating IP and adds a security group rule.
Skipped when Horizon or chromium is not installed. One cloud for the module."""

from __future__ import annotations

import importlib.util
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloudproc import ROOT, CloudProcess, free_port
from tests.dashboard.conftest import SERVICES, Dashboard, _seed

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
EXAMPLE = ROOT / "examples" / "horizon_panel"
pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no Debian chromium"),
    pytest.mark.skipif(
        importlib.util.find_spec("openstack_dashboard") is None,
        reason="Horizon is not installed (pip install tinystack[horizon])",
    ),
]
playwright_api = pytest.importorskip("playwright.sync_api")


class Horizon:
    """The cloud and its Horizon: URL, log, logins."""

    def __init__(self, cloud: CloudProcess, port: int) -> None:
        self.cloud = cloud
        self.url = f"http://127.0.0.1:{port}"
        self.log = cloud.state_dir / "horizon" / "horizon.log"

    def wait(self, timeout: float) -> None:
        """Until Horizon answers (the first start collects and compresses static files)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/auth/login/", timeout=10).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(2)
        raise AssertionError(f"Horizon did not come up:\n{self.log.read_text()[-3000:]}")

    def server_errors(self) -> list[str]:
        """The requests Horizon answered with a 5xx (its access log), but the known one."""
        answered = re.findall(r'"([A-Z]+ \S+) HTTP/[0-9.]+" (5[0-9][0-9])', self.log.read_text())
        return [f"{status} {request}" for request, status in answered if not _known(request)]


def _known(request: str) -> bool:
    """Horizon's own bug: the Launch Instance workflow asks for the metadata namespaces of
    ``OS::Cinder::Volumes``, a resource type no Glance namespace names (upstream's
    definitions say ``OS::Cinder::Volume``), and Horizon's metadefs_namespace_full_list
    then starts a thread pool of zero workers (ValueError, a 500) against any Glance."""
    return "/api/glance/metadefs/namespaces/" in request and "OS::Cinder::Volumes" in request


@pytest.fixture(scope="module")
def horizon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Horizon]:
    port = free_port()
    # collected static files are kept across runs (rebuilt when Horizon or the plugin change)
    static = Path(tempfile.gettempdir()) / f"tinystack-test-horizon-static-{os.getuid()}"
    conf = (
        f"[dashboard]\nhorizon_port = {port}\nhorizon_plugins = {EXAMPLE}\n"
        f"horizon_static_root = {static}\n"
    )
    cloud = CloudProcess(tmp_path_factory.mktemp("horizon-cloud"), SERVICES, extra_conf=conf)
    cloud.start()
    try:
        env = Horizon(cloud, port)
        _seed(Dashboard(cloud, f"http://127.0.0.1:{cloud.ports['dashboard']}"), cloud.state_dir)
        env.wait(timeout=420)
        yield env
    finally:
        cloud.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        launched.close()


class Page:
    """A browser page logged in to Horizon as one user, recording 5xx answers."""

    def __init__(self, browser: Any, horizon: Horizon, user: str) -> None:
        self.horizon = horizon
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(60000)
        self.failed: list[str] = []
        self.page.on("response", self._record)
        self.login(user, horizon.cloud.password(user))

    def _record(self, response: Any) -> None:
        if response.status >= 500 and not _known(response.url):
            self.failed.append(f"{response.status} {response.request.method} {response.url}")

    def login(self, user: str, password: str) -> None:
        page = self.page
        page.goto(self.horizon.url + "/auth/login/")
        page.fill("#id_username", user)
        page.fill("#id_password", password)
        page.click("#loginBtn")
        page.wait_for_url(lambda u: "/auth/login" not in u, timeout=90000)

    def panels(self) -> list[str]:
        """Every panel's path in the navigation (all dashboards)."""
        hrefs: list[str] = self.page.eval_on_selector_all(
            "a.openstack-panel", "links => links.map(a => a.getAttribute('href'))"
        )
        return sorted(set(hrefs))

    def visit(self, path: str) -> list[str]:
        """Open a page; the error messages it shows once its requests are done."""
        return self.visit_all([path], width=1)

    def visit_all(self, paths: list[str], width: int = 4) -> list[str]:
        """Open the pages ``width`` at a time (in tabs of this login); the error messages
        they show once their requests are done."""
        tabs = [self.page, *(self.context.new_page() for _ in range(width - 1))]
        for tab in tabs[1:]:
            tab.on("response", self._record)
        messages: list[str] = []
        for start in range(0, len(paths), width):
            batch = list(zip(tabs, paths[start : start + width], strict=False))
            for tab, path in batch:
                tab.goto(self.horizon.url + path, wait_until="commit", timeout=90000)
            for tab, path in batch:
                tab.wait_for_load_state("networkidle", timeout=90000)
                alerts = tab.locator(".alert-danger:visible, .alert-error:visible")
                messages += [f"{path}: {text.strip()}" for text in alerts.all_inner_texts()]
        for tab in tabs[1:]:
            tab.close()
        return messages

    def close(self) -> None:
        self.context.close()


def test_every_panel_renders(horizon: Horizon, browser: Any) -> None:
    admin = Page(browser, horizon, "admin")
    try:
        panels = admin.panels()
        for dashboard in ("project", "admin", "identity"):
            assert any(p.startswith(f"/{dashboard}/") for p in panels), panels
        assert admin.visit_all(panels) == []
        assert admin.failed == []
    finally:
        admin.close()
    assert horizon.server_errors() == []


def test_launch_instance_and_the_example_panel(horizon: Horizon, browser: Any) -> None:
    demo = Page(browser, horizon, "demo")
    page = demo.page
    try:
        # the example dashboard and panel came from examples/horizon_panel/enabled/
        assert "/tinystack_example/" in demo.panels()
        page.goto(horizon.url + "/project/instances/")
        page.click("#instances__action_launch-ng")
        wizard = page.locator(".modal-dialog")
        wizard.locator("input[name=name]").fill("hz-wizard")
        wizard.get_by_role("link", name=re.compile("Source")).click()
        _allocate(wizard, "cirros")
        wizard.get_by_role("link", name=re.compile("Flavor")).click()
        _allocate(wizard, "m1.nano")
        wizard.locator("button.finish").click()
        row = page.locator("#instances tbody tr", has_text="hz-wizard")
        row.filter(has_text="Active").wait_for(timeout=120000)

        assert demo.visit("/tinystack_example/") == []
        example = page.locator("#servers tbody tr", has_text="hz-wizard")
        assert "ACTIVE" in example.inner_text()  # the example shows the API's status
        assert page.locator(".tinystack-example").is_visible()

        # a floating IP from the public pool, a rule in the default security group
        page.goto(horizon.url + "/project/floating_ips/")
        page.click("#floating_ips__action_allocate")
        page.locator(".modal-dialog [type=submit]").click()
        page.locator("#floating_ips tbody tr", has_text="Down").first.wait_for()
        page.goto(horizon.url + "/project/security_groups/")
        group = page.locator("#security_groups tbody tr", has_text="default")
        group.get_by_role("link", name=re.compile("Manage Rules")).click()
        page.click("#rules__action_add_rule")
        page.locator(".modal-dialog #id_port").fill("2222")
        page.locator(".modal-dialog [type=submit]").click()
        page.locator("#rules tbody tr", has_text="2222").wait_for()
        assert page.locator(".alert-danger:visible").all_inner_texts() == []
        assert demo.failed == []
    finally:
        demo.close()
        horizon.cloud.osc_raw("server", "delete", "--wait", "hz-wizard", cloud="tinystack-demo")
    assert horizon.server_errors() == []


def _allocate(wizard: Any, name: str) -> None:
    """Move the available item ``name`` up into the allocated list of a transfer table."""
    wizard.locator("tr", has_text=name).locator("button.fa-arrow-up").first.click()
