"""The projections as the application reads them: every realm's public rows, from the reader's own database.

`public_videos`, `public_profiles` and `public_comments` are views over `outbound_<realm>` of every realm
(the reader's own and the replicated copies), with a `realm` column; see reelm.crossrealm.schema.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from reelm.crossrealm.schema import schema_of

# Not part of RealmBase: Alembic does not manage these, reelm.crossrealm.replication does.
views = MetaData()

public_videos = Table(
    "public_videos",
    views,
    Column("realm", Text),
    Column("id", BigInteger, primary_key=True),
    Column("owner_id", BigInteger),
    Column("caption", Text),
    Column("hashtags", ARRAY(Text)),
    Column("mentions", ARRAY(Text)),
    Column("width", Integer),
    Column("height", Integer),
    Column("duration_s", Double),
    Column("poster_key", Text),
    Column("renditions", JSONB),
    Column("created_at", DateTime(timezone=True)),
    Column("published_at", DateTime(timezone=True)),
    Column("like_count", Integer),
    Column("comment_count", Integer),
    Column("share_count", Integer),
    Column("view_count", BigInteger),
    # Moderation (reelm.moderation): a label to show, an age restriction, a demotion for ranking, and the
    # realms in which the video must not be shown at all (see `shown_in`).
    Column("label", Text),
    Column("age_restricted", Boolean),
    Column("demoted", Boolean),
    Column("restricted_realms", ARRAY(Text)),
)

public_profiles = Table(
    "public_profiles",
    views,
    Column("realm", Text),
    Column("id", BigInteger, primary_key=True),
    Column("handle", Text),
    Column("display_name", Text),
    Column("bio", Text),
    Column("avatar_key", Text),
    Column("follower_count", Integer),
    Column("following_count", Integer),
    Column("video_count", Integer),
    Column("likes_received", BigInteger),
    Column("created_at", DateTime(timezone=True)),
)

public_comments = Table(
    "public_comments",
    views,
    Column("realm", Text),
    Column("id", BigInteger, primary_key=True),
    Column("video_id", BigInteger),
    Column("author_id", BigInteger),
    Column("parent_id", BigInteger),
    Column("body", Text),
    Column("created_at", DateTime(timezone=True)),
    Column("like_count", Integer),
    Column("reply_count", Integer),
    Column("label", Text),
)


def _tally_columns() -> list[Column[Any]]:
    return [
        Column("target_id", BigInteger, primary_key=True),
        Column("metric", Text, primary_key=True),
        Column("value", BigInteger),
    ]


def _moved_columns() -> list[Column[Any]]:
    return [Column("old_id", BigInteger, primary_key=True), Column("new_id", BigInteger)]


def _removal_columns() -> list[Column[Any]]:
    return [Column("comment_id", BigInteger, primary_key=True), Column("video_id", BigInteger)]


# Every realm's rows (the views) and one realm's own table (its outbound schema), from one column list.
public_tallies = Table("public_tallies", views, Column("realm", Text), *_tally_columns())
public_moved_ids = Table("public_moved_ids", views, Column("realm", Text), *_moved_columns())


@functools.cache
def tallies(realm: str) -> Table:
    """The realm's own counts of its users' activity on other realms' content."""
    return Table("tallies", MetaData(), *_tally_columns(), schema=schema_of(realm))


@functools.cache
def comment_removals(realm: str) -> Table:
    """Other realms' comments that the realm's creators removed from their videos."""
    return Table("comment_removals", MetaData(), *_removal_columns(), schema=schema_of(realm))


@functools.cache
def moved_ids(realm: str) -> Table:
    """Old and new ids of accounts (and their videos and comments) that moved away from the realm."""
    return Table("moved_ids", MetaData(), *_moved_columns(), schema=schema_of(realm))


@functools.cache
def transit_keys(realm: str) -> Table:
    """The realm's public transit keys (reelm.crossrealm.transit), or this database's copy of them."""
    return Table(
        "transit_keys",
        MetaData(),
        Column("version", Integer, primary_key=True),
        Column("public_key", LargeBinary),
        schema=schema_of(realm),
    )


@functools.cache
def deliveries(realm: str) -> Table:
    """What `realm` delivers to one other realm (reelm.crossrealm.deliveries), or this database's copy."""
    return Table(
        "deliveries",
        MetaData(),
        Column("id", BigInteger, primary_key=True),
        Column("to_realm", Text),
        Column("kind", Text),
        Column("sealed", LargeBinary),
        schema=schema_of(realm),
    )
