"""points packed in time splits

The ``point`` rows (one per metric, kind, granularity and bucket) become ``split``
rows: up to 3600 consecutive buckets of one granularity packed in one blob, eight
arrays of little-endian doubles (start, count, sum, sum of squares, min, max, last,
last time), as ``services/splits.py`` reads them.

On MySQL/MariaDB the metric's newest measure time and value become DOUBLE (FLOAT is
single precision there).

Revision ID: metric_0002
Revises: metric_0001
Create Date: 2026-12-06 18:25:38
"""

import math
import sys
from array import array
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "metric_0002"
down_revision = "metric_0001"
branch_labels = None
depends_on = None

POINTS = 3600
#: a split of 3600 buckets is 230,400 bytes: MEDIUMBLOB on MySQL, whose BLOB is 64 KiB
BLOB = sa.LargeBinary(length=2**24)
COLUMNS = ("timestamp", "count", "sum", "sumsq", "min", "max", "last", "last_at")


def _pack(rows: list[Any]) -> bytes:
    packed = array("d")
    for i in range(len(COLUMNS)):
        packed.extend(float(r[3 + i]) for r in rows)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def upgrade() -> None:
    if op.get_bind().dialect.name in ("mysql", "mariadb"):
        # FLOAT is single precision there: an epoch time rounded to a step of minutes
        # moved the back window and the timespans' cutoffs
        for column in ("newest", "newest_value"):
            op.alter_column("metric", column, type_=sa.Double(), existing_type=sa.Float(),
                            existing_nullable=True)  # fmt: skip
    split = op.create_table(
        "split",
        sa.Column("metric_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.Integer(), nullable=False),
        sa.Column("granularity", sa.Double(), nullable=False),
        sa.Column("start", sa.Double(), nullable=False),
        sa.Column("points", BLOB, nullable=False),
        sa.ForeignKeyConstraint(
            ["metric_id"], ["metric.id"], name=op.f("fk_split_metric_id_metric"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("metric_id", "kind", "granularity", "start", name=op.f("pk_split")),
    )
    names = ("metric_id", "kind", "granularity", *COLUMNS)
    point = sa.table("point", *(sa.column(c) for c in names))
    rows = op.get_bind().execute(
        sa.select(point).order_by(
            point.c.metric_id, point.c.kind, point.c.granularity, point.c.timestamp
        )  # fmt: skip
    )

    def key(r: Any) -> tuple[object, ...]:
        span = POINTS * r.granularity
        return (r.metric_id, r.kind, r.granularity, math.floor(r.timestamp / span) * span)

    for (metric_id, kind, gran, start), found in groupby(rows, key):
        op.get_bind().execute(
            sa.insert(split).values(
                metric_id=metric_id,
                kind=kind,
                granularity=gran,
                start=start,
                points=_pack(list(found)),
            )  # fmt: skip
        )
    op.drop_table("point")


def downgrade() -> None:
    point = op.create_table(
        "point",
        sa.Column("metric_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.Integer(), nullable=False),
        sa.Column("granularity", sa.Float(), nullable=False),
        *(sa.Column(c, sa.Integer() if c == "count" else sa.Float(), nullable=False)
          for c in COLUMNS),
        sa.ForeignKeyConstraint(
            ["metric_id"], ["metric.id"], name=op.f("fk_point_metric_id_metric"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "metric_id", "kind", "granularity", "timestamp", name=op.f("pk_point")
        ),
    )  # fmt: skip
    split = sa.table("split", *(sa.column(c) for c in ("metric_id", "kind", "granularity",
                                                       "points")))  # fmt: skip
    for metric_id, kind, gran, blob in op.get_bind().execute(sa.select(split)).all():
        packed = array("d")
        packed.frombytes(blob)
        if sys.byteorder == "big":
            packed.byteswap()
        n = len(packed) // len(COLUMNS)
        columns = [packed[i * n : (i + 1) * n] for i in range(len(COLUMNS))]
        rows = [
            {"metric_id": metric_id, "kind": kind, "granularity": gran,
             **{c: int(v) if c == "count" else v for c, v in zip(COLUMNS, values, strict=True)}}
            for values in zip(*columns, strict=True)
        ]  # fmt: skip
        if rows:
            op.get_bind().execute(sa.insert(point), rows)
    op.drop_table("split")
