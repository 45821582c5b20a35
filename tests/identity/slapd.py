"""A throwaway OpenLDAP ``slapd`` for the LDAP identity backend's tests.

:class:`Slapd` writes its own ``slapd.conf`` (mdb database, the core, cosine,
inetorgperson and nis schemas) in a directory of the test's, listens on a free port of
21400-21499 on loopback, runs in the foreground as a child of the test (``-d 0``) and
is stopped by its PID. Entries are loaded with ``ldap3`` as the directory's manager.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import ldap3
import pytest

from tests.cloudproc import free_port

SLAPD = "/usr/sbin/slapd"
SUFFIX = "dc=example,dc=org"
MANAGER = f"cn=admin,{SUFFIX}"
MANAGER_PASSWORD = "manager-secret"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")


def available() -> bool:
    return Path(SLAPD).exists() and Path("/etc/ldap/schema/core.schema").exists()


class Slapd:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.port = free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20) -> None:
        data = self.dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        includes = "\n".join(f"include /etc/ldap/schema/{s}.schema" for s in SCHEMAS)
        conf = self.dir / "slapd.conf"
        conf.write_text(
            f"""{includes}
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {self.dir}/slapd.pid
argsfile {self.dir}/slapd.args
database mdb
maxsize 10485760
suffix "{SUFFIX}"
rootdn "{MANAGER}"
rootpw {MANAGER_PASSWORD}
directory {data}
access to attrs=userPassword by self read by anonymous auth by * none
access to * by * read
"""
        )
        log = open(self.dir / "slapd.log", "wb")
        self.proc = subprocess.Popen(
            [SLAPD, "-f", str(conf), "-h", f"{self.url}/", "-d", "0"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.dir / "slapd.log").read_text()[-2000:])
            try:
                self.manager().unbind()
                return
            except ldap3.core.exceptions.LDAPException:
                time.sleep(0.1)
        self.stop()
        raise TimeoutError("slapd did not answer")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        shutil.rmtree(self.dir / "data", ignore_errors=True)

    def manager(self) -> ldap3.Connection:
        conn = ldap3.Connection(
            ldap3.Server(self.url, connect_timeout=2),
            user=MANAGER,
            password=MANAGER_PASSWORD,
            raise_exceptions=True,
        )
        conn.bind()
        return conn

    def add(self, dn: str, object_class: str | list[str], **attributes: object) -> None:
        conn = self.manager()
        try:
            conn.add(dn, object_class, attributes)
        finally:
            conn.unbind()

    def modify(self, dn: str, changes: dict[str, list[tuple[str, list[object]]]]) -> None:
        conn = self.manager()
        try:
            conn.modify(dn, changes)
        finally:
            conn.unbind()

    def delete(self, dn: str) -> None:
        conn = self.manager()
        try:
            conn.delete(dn)
        finally:
            conn.unbind()


def seed(server: Slapd) -> None:
    """The organisation, ``ou=Users`` with alice, bob (disabled) and carol, and
    ``ou=Groups`` with devs (alice, carol) and ops (bob)."""
    server.add(SUFFIX, ["dcObject", "organization"], o="Example", dc="example")
    server.add(f"ou=Users,{SUFFIX}", "organizationalUnit", ou="Users")
    server.add(f"ou=Groups,{SUFFIX}", "organizationalUnit", ou="Groups")
    people = {
        "alice": ("Alice Liddell", "alice-pw", "TRUE"),
        "bob": ("Bob Builder", "bob-pw", "FALSE"),
        "carol": ("Carol Danvers", "carol-pw", "TRUE"),
    }
    for uid, (cn, password, enabled) in people.items():
        server.add(
            f"uid={uid},ou=Users,{SUFFIX}",
            "inetOrgPerson",
            uid=uid,
            cn=cn,
            sn=uid.capitalize(),
            mail=f"{uid}@example.org",
            userPassword=password,
            employeeType=enabled,
        )
    for group, members in {"devs": ("alice", "carol"), "ops": ("bob",)}.items():
        server.add(
            f"cn={group},ou=Groups,{SUFFIX}",
            "groupOfNames",
            cn=group,
            description=f"the {group}",
            member=[f"uid={m},ou=Users,{SUFFIX}" for m in members],
        )


#: the domain configuration that reads the seeded directory
def domain_config(url: str) -> dict[str, dict[str, object]]:
    return {
        "identity": {"driver": "ldap"},
        "ldap": {
            "url": url,
            "user": MANAGER,
            "password": MANAGER_PASSWORD,
            "suffix": SUFFIX,
            "user_tree_dn": f"ou=Users,{SUFFIX}",
            "user_objectclass": "inetOrgPerson",
            "user_id_attribute": "uid",
            "user_name_attribute": "uid",
            "user_mail_attribute": "mail",
            "user_enabled_attribute": "employeeType",
            "group_tree_dn": f"ou=Groups,{SUFFIX}",
            "group_objectclass": "groupOfNames",
            "group_id_attribute": "cn",
            "group_name_attribute": "cn",
            "group_member_attribute": "member",
            "query_scope": "one",
            "page_size": 2,
        },
    }


needs_slapd = pytest.mark.skipif(not available(), reason="slapd (Debian package) not installed")
