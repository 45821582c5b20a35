"""Accounts and containers as small SQLite databases, as Swift keeps them: one file per
account or container in its hash directory; rows are never removed by a delete, only
marked deleted with the delete's timestamp, so replicas can be merged by timestamp."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tinystack.common.exceptions import Conflict, NotFound
from tinystack.object_store.storage.connections import connection

ZERO = "0000000000.00000"

#: a container's live object count and bytes, kept by triggers in the transaction that
#: changes its rows (Swift's container_stat): a HEAD or a listing does not count rows
#: ``changes`` counts the changes of listed rows: a listing made at the same count is the
#: same listing
_STAT = (
    "CREATE TABLE stat (object_count INTEGER, bytes_used INTEGER, changes INTEGER)",
    "INSERT INTO stat SELECT count(*), coalesce(sum(size), 0), 0 FROM item WHERE deleted = 0",
    "CREATE TRIGGER item_insert AFTER INSERT ON item WHEN new.deleted = 0 BEGIN "
    "UPDATE stat SET object_count = object_count + 1, bytes_used = bytes_used + new.size, "
    "changes = changes + 1; END",
    "CREATE TRIGGER item_update AFTER UPDATE ON item BEGIN UPDATE stat SET "
    "object_count = object_count + (new.deleted = 0) - (old.deleted = 0), "
    "bytes_used = bytes_used + iif(new.deleted = 0, new.size, 0) "
    "- iif(old.deleted = 0, old.size, 0), changes = changes + 1; END",
    "CREATE TRIGGER item_delete AFTER DELETE ON item WHEN old.deleted = 0 BEGIN "
    "UPDATE stat SET object_count = object_count - 1, bytes_used = bytes_used - old.size, "
    "changes = changes + 1; END",
)
#: the JSON listings last made (database, inode, query) -> (stat.changes, body): a
#: listing of an unchanged container is sent again, not rendered again
_listings: OrderedDict[tuple[str, int, tuple[object, ...]], tuple[int, bytes]] = OrderedDict()
_LISTINGS = 16
_listings_guard = threading.Lock()

_SCHEMA = {
    "account": """
        CREATE TABLE info (account TEXT, created_at TEXT, put_timestamp TEXT,
            delete_timestamp TEXT, metadata TEXT);
        CREATE TABLE item (name TEXT PRIMARY KEY, put_timestamp TEXT, delete_timestamp TEXT,
            object_count INTEGER, bytes_used INTEGER, deleted INTEGER);
    """,
    "container": """
        CREATE TABLE info (account TEXT, created_at TEXT, put_timestamp TEXT,
            delete_timestamp TEXT, metadata TEXT, container TEXT);
        CREATE TABLE item (name TEXT PRIMARY KEY, created_at TEXT, size INTEGER,
            content_type TEXT, etag TEXT, deleted INTEGER, doc TEXT);
    """,
}


#: how an item row (an object in a container, a container in an account) is recorded:
#: an object's newest state wins; a container keeps its newest put and delete timestamps
_UPSERT = {
    "container": "INSERT INTO item VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE "
    "SET created_at = excluded.created_at, size = excluded.size, "
    "content_type = excluded.content_type, etag = excluded.etag, "
    "deleted = excluded.deleted, doc = excluded.doc "
    "WHERE excluded.created_at > item.created_at",
    "account": "INSERT INTO item VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
    "put_timestamp = max(item.put_timestamp, excluded.put_timestamp), "
    "delete_timestamp = max(item.delete_timestamp, excluded.delete_timestamp), "
    "object_count = excluded.object_count, bytes_used = excluded.bytes_used, "
    "deleted = max(item.put_timestamp, excluded.put_timestamp) < "
    "max(item.delete_timestamp, excluded.delete_timestamp)",
}


@dataclass(frozen=True, slots=True)
class Info:
    """An account's or container's stats and metadata (metadata: name -> (value, ts))."""

    name: str
    created_at: str
    put_timestamp: str
    delete_timestamp: str
    count: int
    bytes_used: int
    items: int
    metadata: dict[str, tuple[str, str]]
    container: str = ""

    @property
    def deleted(self) -> bool:
        return self.delete_timestamp > self.put_timestamp


@dataclass(frozen=True, slots=True)
class Entry:
    """A listing row: an object (size, content type, etag, last-modified) or a container
    (count, bytes, last-modified), or a ``subdir`` when a delimiter folded names."""

    name: str
    timestamp: str = ""
    count_or_size: int = 0
    bytes_or_type: str = ""
    etag: str = ""
    subdir: bool = False


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(str(path), threading.Lock())


def _past(prefix: str) -> str | None:
    """The least string after every name that starts with ``prefix`` (code point order
    is UTF-8 byte order); None when there is none below the last code point."""
    while prefix:
        code = ord(prefix[-1]) + 1
        if 0xD800 <= code <= 0xDFFF:
            code = 0xE000  # surrogates are not text
        if code <= 0x10FFFF:
            return prefix[:-1] + chr(code)
        prefix = prefix[:-1]
    return None


#: an object row of a container: name, created_at, size, content_type, etag, deleted
ObjectRow = tuple[str, str, int, str, str, int]


def _with_doc(row: ObjectRow) -> tuple[str, str, int, str, str, int, str | None]:
    """The row and its listing entry, rendered once when written (the client's JSON:
    Swift's fields in its order, ``last_modified`` the timestamp's exact microseconds)."""
    name, created_at, size, content_type, etag, deleted = row
    if deleted:
        return (*row, None)
    seconds, _, fraction = created_at.partition(".")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(seconds)))
    entry = {"hash": etag, "last_modified": f"{stamp}.{fraction[:5]:0<5}0", "bytes": size,
             "name": name, "content_type": content_type}  # fmt: skip
    return (*row, json.dumps(entry, ensure_ascii=False))


def _current(conn: sqlite3.Connection) -> None:
    """Bring a container database made by an older version up to the schema: the
    listing entries' column (rows without one are rendered when listed) and the stats."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(item)")}
    if not columns or "doc" in columns and _has_stat(conn):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(item)")}
        if "doc" not in columns:
            conn.execute("ALTER TABLE item ADD COLUMN doc TEXT")
        if not _has_stat(conn):
            for statement in _STAT:
                conn.execute(statement)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _has_stat(conn: sqlite3.Connection) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'stat'").fetchone()
    return found is not None


@dataclass
class _Pending:
    """Object rows waiting for one container database's next transaction."""

    rows: list[tuple[ObjectRow, list[BaseException | bool]]] = field(default_factory=list)
    guard: threading.Lock = field(default_factory=threading.Lock)


_pending: dict[str, _Pending] = {}


def _group_write(broker: Broker, row: ObjectRow) -> None:
    """Queue the row; whoever holds the database's lock writes every queued row."""
    with _locks_guard:
        pending = _pending.setdefault(str(broker.path), _Pending())
    done: list[BaseException | bool] = []
    with pending.guard:
        pending.rows.append((row, done))
    with _lock(broker.path):
        if not done:
            with pending.guard:
                batch, pending.rows = pending.rows, []
            try:
                with connection(broker.path, broker._prepare) as conn:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany(_UPSERT["container"], [_with_doc(r) for r, _ in batch])
                    conn.execute("COMMIT")
                outcome: BaseException | bool = True
            except Exception as exc:
                outcome = exc
            for _, slot in batch:
                slot.append(outcome)
    if isinstance(done[0], BaseException):
        raise done[0]


class Broker:
    """One account (``kind`` account: items are containers) or container (items are
    objects) database."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path = path
        self.kind = kind

    @property
    def _prepare(self) -> Callable[[sqlite3.Connection], None] | None:
        return _current if self.kind == "container" else None

    def exists(self) -> bool:
        return self.path.exists()

    def initialize(self, name: str, timestamp: str, container: str = "") -> bool:
        """Create the database, or revive it with a newer put timestamp; True if created."""
        with _lock(self.path):
            if not self.path.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
                conn = sqlite3.connect(tmp)
                conn.executescript(_SCHEMA[self.kind])
                for statement in _STAT if self.kind == "container" else ():
                    conn.execute(statement)
                row = [name, timestamp, timestamp, ZERO, "{}"]
                if self.kind == "container":
                    row.append(container)
                conn.execute(f"INSERT INTO info VALUES ({','.join('?' * len(row))})", row)
                conn.commit()
                conn.close()
                os.replace(tmp, self.path)
                return True
        with connection(self.path, self._prepare) as conn:
            conn.execute(
                "UPDATE info SET put_timestamp = ? WHERE put_timestamp < ?", (timestamp, timestamp)
            )
        return False

    def info(self) -> Info:
        if not self.path.exists():
            raise NotFound()
        with connection(self.path, self._prepare) as conn:
            extra = ", container" if self.kind == "container" else ", ''"
            name, created, put, deleted, meta, container = conn.execute(
                "SELECT account, created_at, put_timestamp, delete_timestamp, metadata"
                f"{extra} FROM info"
            ).fetchone()
            if self.kind == "account":
                row = conn.execute(
                    "SELECT count(*), coalesce(sum(object_count), 0), "
                    "coalesce(sum(bytes_used), 0) FROM item WHERE deleted = 0"
                ).fetchone()
                items, count, used = row
            else:
                count, used = conn.execute("SELECT object_count, bytes_used FROM stat").fetchone()
                items = count
        metadata = {k: (v[0], v[1]) for k, v in json.loads(meta).items()}
        return Info(
            name, created, put, deleted, int(count), int(used), int(items), metadata, container
        )

    def is_deleted(self) -> bool:
        """Whether the database is missing or marked deleted (no counting: an object
        server's update asks this on every write)."""
        if not self.path.exists():
            return True
        with connection(self.path, self._prepare) as conn:
            put, deleted = conn.execute(
                "SELECT put_timestamp, delete_timestamp FROM info"
            ).fetchone()
        return bool(deleted > put)

    def live(self) -> Info:
        info = self.info()
        if info.deleted:
            raise NotFound()
        return info

    def update_metadata(self, updates: dict[str, str], timestamp: str) -> None:
        """Merge metadata: a key keeps the value with the newest timestamp ('' removes)."""
        with connection(self.path, self._prepare) as conn:
            conn.execute("BEGIN IMMEDIATE")
            (raw,) = conn.execute("SELECT metadata FROM info").fetchone()
            meta = json.loads(raw)
            for key, value in updates.items():
                if key not in meta or meta[key][1] < timestamp:
                    meta[key] = [value, timestamp]
            meta = {k: v for k, v in meta.items() if v[0] != "" or v[1] == timestamp}
            conn.execute("UPDATE info SET metadata = ?", (json.dumps(meta),))
            conn.execute("COMMIT")

    def delete(self, timestamp: str) -> None:
        """Mark deleted (409 while it holds items; rows stay as tombstones)."""
        info = self.live()
        if info.items:
            raise Conflict("There was a conflict when trying to complete your request.")
        with connection(self.path, self._prepare) as conn:
            conn.execute("UPDATE info SET delete_timestamp = ?", (timestamp,))

    # -- items -------------------------------------------------------------------------
    def put_object(
        self, name: str, timestamp: str, size: int, content_type: str, etag: str, deleted: bool
    ) -> None:
        """Record an object's newest state (older updates are ignored). Concurrent
        updates of one container are written together, in one transaction (group
        commit): SQLite lets one writer in at a time and makes the others sleep."""
        row = (name, timestamp, size, content_type, etag, int(deleted))
        _group_write(self, row)

    def put_container(self, name: str, put_ts: str, delete_ts: str, count: int, used: int) -> None:
        """Record a container's state in an account (the newest timestamps win)."""
        deleted = int(delete_ts > put_ts)
        with connection(self.path, self._prepare) as conn:
            conn.execute(_UPSERT["account"], (name, put_ts, delete_ts, count, used, deleted))

    def listing(
        self,
        limit: int,
        marker: str = "",
        end_marker: str = "",
        prefix: str = "",
        delimiter: str = "",
        reverse: bool = False,
    ) -> list[Entry]:
        """Live items in name order after ``marker`` and before ``end_marker``; with a
        delimiter, names sharing a prefix up to it fold into one ``subdir`` entry."""
        columns = (
            "name, put_timestamp, object_count, bytes_used, ''"
            if self.kind == "account"
            else "name, created_at, size, content_type, etag"
        )
        order = "DESC" if reverse else "ASC"
        entries: list[Entry] = []
        skip_to = ""
        with connection(self.path, self._prepare) as conn:
            while len(entries) < limit:
                where: list[str] = ["deleted = 0"]
                args: list[str | int] = []
                if marker:
                    where.append("name < ?" if reverse else "name > ?")
                    args.append(marker)
                if skip_to:
                    where.append("name >= ?")
                    args.append(skip_to)
                if end_marker:
                    where.append("name > ?" if reverse else "name < ?")
                    args.append(end_marker)
                if prefix:
                    # a range, not substr(): SQLite's string functions stop at a NUL,
                    # which reserved names (object versioning's) hold
                    where.append("name >= ?")
                    args.append(prefix)
                    if (bound := _past(prefix)) is not None:
                        where.append("name < ?")
                        args.append(bound)
                sql = f"SELECT {columns} FROM item WHERE {' AND '.join(where)} "
                rows = conn.execute(
                    f"{sql} ORDER BY name {order} LIMIT ?", [*args, limit]
                ).fetchall()
                if not rows:
                    break
                for name, ts, number, text, etag in rows:
                    marker = name
                    if delimiter:
                        cut = name.find(delimiter, len(prefix))
                        if cut >= 0:
                            sub = name[: cut + len(delimiter)]
                            entries.append(Entry(sub, subdir=True))
                            # skip the rest of the folded names
                            if reverse:
                                marker = sub
                            else:
                                skip_to = sub[:-1] + chr(ord(sub[-1]) + 1)
                            break
                    entries.append(Entry(name, ts, int(number), str(text), str(etag)))
                    if len(entries) >= limit:
                        break
                else:
                    if len(rows) < limit:
                        break
        return entries[:limit]

    def listing_json(
        self, limit: int, marker: str = "", end_marker: str = "", prefix: str = "",
        reverse: bool = False,
    ) -> bytes:  # fmt: skip
        """A container's listing (no delimiter) as the client's JSON, made by SQLite:
        Swift's fields in its order, ``last_modified`` the timestamp's exact microseconds.
        Python objects per row made a 10,000-entry listing cost a quarter of a second."""
        where: list[str] = ["deleted = 0"]
        args: list[str | int] = []
        if marker:
            where.append("name < ?" if reverse else "name > ?")
            args.append(marker)
        if end_marker:
            where.append("name > ?" if reverse else "name < ?")
            args.append(end_marker)
        if prefix:
            where.append("substr(name, 1, ?) = ?")
            args += [len(prefix), prefix]
        order = "DESC" if reverse else "ASC"
        # each row's entry was rendered when written; rows from before that was done
        # are rendered here
        sql = (
            "SELECT '[' || coalesce(group_concat(coalesce(doc, json_object('hash', etag, "
            "'last_modified', strftime('%Y-%m-%dT%H:%M:%S', CAST(created_at AS REAL), "
            "'unixepoch') || '.' || substr(created_at, instr(created_at, '.') + 1, 5) || '0', "
            "'bytes', size, 'name', name, 'content_type', content_type)), ','), '') || ']' "
            f"FROM (SELECT * FROM item WHERE {' AND '.join(where)} ORDER BY name {order} "
            "LIMIT ?)"
        )
        key = (str(self.path), os.stat(self.path).st_ino, (*args, limit, order))
        with connection(self.path, self._prepare) as conn:
            conn.execute("BEGIN")  # the count and the rows of one snapshot
            try:
                (changes,) = conn.execute("SELECT changes FROM stat").fetchone()
                with _listings_guard:
                    cached = _listings.get(key)
                if cached is not None and cached[0] == changes:
                    return cached[1]
                (text,) = conn.execute(sql, [*args, limit]).fetchone()
            finally:
                conn.execute("COMMIT")
        body = str(text).encode()
        with _listings_guard:
            _listings[key] = (changes, body)
            _listings.move_to_end(key)
            while len(_listings) > _LISTINGS:
                _listings.popitem(last=False)
        return body

    # -- replication -------------------------------------------------------------------
    def export(self) -> dict[str, object]:
        """The whole database as the replicator sends it: the info row and every item
        row, deleted ones included."""
        with connection(self.path, self._prepare) as conn:
            cursor = conn.execute("SELECT * FROM info")
            fields = [d[0] for d in cursor.description]
            info = dict(zip(fields, cursor.fetchone(), strict=True))
            columns = (
                "name, put_timestamp, delete_timestamp, object_count, bytes_used, deleted"
                if self.kind == "account"
                else "name, created_at, size, content_type, etag, deleted"
            )
            items = [list(r) for r in conn.execute(f"SELECT {columns} FROM item ORDER BY name")]
        return {"kind": self.kind, "info": info, "items": items}

    def merge(self, doc: dict[str, object]) -> None:
        """Merge a replica's export: the newest put/delete timestamps, metadata key by
        key, each item row by its timestamp."""
        info = doc["info"]
        items = doc["items"]
        if not isinstance(info, dict) or not isinstance(items, list) or doc["kind"] != self.kind:
            raise ValueError("not a replica of this database")
        self.initialize(str(info["account"]), str(info["created_at"]),
                        str(info.get("container") or ""))  # fmt: skip
        with connection(self.path, self._prepare) as conn:
            conn.execute(
                "UPDATE info SET put_timestamp = max(put_timestamp, ?), "
                "delete_timestamp = max(delete_timestamp, ?), created_at = min(created_at, ?)",
                (info["put_timestamp"], info["delete_timestamp"], info["created_at"]),
            )
        metadata = json.loads(str(info["metadata"]))
        for key, (value, timestamp) in metadata.items():
            self.update_metadata({key: value}, timestamp)
        rows: list[tuple[str, str, str | int, str | int, str | int, int, str | None]] = []
        for row in items:
            name, first, size_or_delete, type_or_count, etag_or_used, deleted = row
            if self.kind == "container":
                rows.append(_with_doc((str(name), str(first), int(size_or_delete),
                                       str(type_or_count), str(etag_or_used),
                                       int(bool(deleted)))))  # fmt: skip
            else:
                put_ts, delete_ts = str(first), str(size_or_delete)
                rows.append((str(name), put_ts, delete_ts, int(type_or_count),
                             int(etag_or_used), int(delete_ts > put_ts), None))  # fmt: skip
        # every row in one transaction: a 10,000-object container merges in milliseconds
        with connection(self.path, self._prepare) as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(_UPSERT[self.kind], rows if self.kind == "container" else
                             [r[:6] for r in rows])  # fmt: skip
            conn.execute("COMMIT")
