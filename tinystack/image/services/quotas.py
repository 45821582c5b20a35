"""Limits: per-project quotas with upstream's unified-limits names, and per-image counts.

The project limits come from the ``[image]`` options (the same for every project,
like Keystone registered limits); usage is counted from the image database. Sizes
are MiB, as upstream: ``image_size_total`` counts the data of every image that
has some, ``image_stage_total`` the staged data.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tinystack.common.exceptions import RequestEntityTooLarge
from tinystack.image import models
from tinystack.image.conf import Options
from tinystack.image.services.deps import Deps
from tinystack.image.services.records import Usage

MiB = 1024 * 1024
NAMES = ("image_size_total", "image_stage_total", "image_count_total", "image_count_uploading")
#: statuses in which an image counts as "being uploaded" for image_count_uploading
UPLOADING_STATUSES = ("saving", "uploading", "importing")


def within_limit(limit: int, count: int) -> bool:
    return limit < 0 or count <= limit


def enforce_count(limit: int, count: int, what: str) -> None:
    """Raise 413 when ``count`` things exceed a -1-means-unlimited ``limit``."""
    if not within_limit(limit, count):
        raise RequestEntityTooLarge(f"Maximum number of {what} exceeded: {count} > {limit}")


def usage(session: Session, name: str, owner: str | None) -> int:
    """Current usage: a count, or MiB (rounded down, as upstream) for the size limits."""
    images = models.Image
    if name in ("image_size_total", "image_stage_total"):
        return bytes_used(session, name, owner) // MiB
    query = select(func.count()).where(images.owner == owner, images.deleted.is_(False))
    if name == "image_count_uploading":
        query = query.where(images.status.in_(UPLOADING_STATUSES))
    elif name != "image_count_total":
        raise KeyError(name)
    return int(session.execute(query).scalar_one())


def bytes_used(session: Session, name: str, owner: str | None) -> int:
    total: int | None
    if name == "image_stage_total":
        stage = models.ImageStage
        total = session.execute(
            select(func.coalesce(func.sum(stage.size), 0)).where(stage.owner == owner)
        ).scalar_one()
    else:
        images = models.Image
        total = session.execute(
            select(func.coalesce(func.sum(images.size), 0)).where(
                images.owner == owner, images.deleted.is_(False), images.location.is_not(None)
            )
        ).scalar_one()
    return int(total or 0)


def enforce(session: Session, opts: Options, name: str, owner: str | None, delta: int = 0) -> None:
    """Raise 413 when ``owner``'s usage plus ``delta`` would exceed the limit."""
    cap = opts.quota_limit(name, owner)
    if cap < 0:
        return
    used = usage(session, name, owner)
    if used + delta > cap:
        raise RequestEntityTooLarge(
            f"Project {owner} is over a limit for [Resource {name} is over limit of {cap} "
            f"with current usage {used} and delta {delta}]"
        )


def remaining_bytes(session: Session, opts: Options, name: str, owner: str | None) -> int:
    """How many more bytes of data ``owner`` may store (or stage); -1 when unlimited."""
    cap = opts.quota_limit(name, owner)
    if cap < 0:
        return -1
    return max(0, cap * MiB - bytes_used(session, name, owner))


def report(deps: Deps, owner: str | None) -> list[Usage]:
    """Every quota's limit and ``owner``'s usage (``GET /v2/info/usage``)."""
    with deps.db.reader() as session:
        return [
            Usage(name, deps.opts.quota_limit(name, owner), usage(session, name, owner))
            for name in NAMES
        ]
