"""The SQL of the cross-realm mechanism: projection tables, the triggers that keep them, the read views.

What may leave realm R is exactly the schema `outbound_R` of R's database: it holds R's public
projections and nothing else, and it is the only thing R publishes. Every other realm's database holds a
read-only copy of `outbound_R` (same name, kept by a logical-replication subscription), so a realm reads
the whole platform's public content from its own database.

`outbound_R` contains:
- `videos`: R's published public videos (with their renditions) of active accounts, with total counts;
- `profiles`: the public profile fields of R's active accounts;
- `comments`: public comments written by R's users, on any realm's public video;
- `tallies`: how often R's users liked, commented, shared, reposted, viewed or followed *another* realm's
  video, comment or account: the owner realm adds these to its own counters (the only thing about
  activity that crosses: a like stays in the liker's realm, its count reaches the video's realm);
- `comment_removals`: comments by other realms' users that an R creator removed from their video;
- `moved_ids`: the old and new ids of an account that moved from R to another realm, and of its
  videos, so every realm re-points its users' follows, likes and comments (and old links redirect);
- `transit_keys`: R's public X25519 keys, to which other realms seal what they deliver to R;
- `deliveries`: protected data addressed to one realm (a message, a notification for one of its users),
  sealed to that realm's transit key. Unlike the projections it is not published whole: R publishes it
  to realm X only through `outbound_R_to_X`, which filters `to_realm = 'X'` and carries inserts only,
  and R deletes each row in the transaction that wrote it, so it never rests in R (reelm.crossrealm.
  deliveries). The only copy is X's, until X's worker takes it in.

Projections are maintained by triggers on the source tables, so no write path can forget them and they
change in the same transaction as the row they mirror. The triggers are ENABLE ALWAYS because rows
also change inside the replication apply worker (a tally from another realm updates a local counter,
whose projection must follow), and every function pins its search_path because the apply worker runs
with an empty one.
"""

from __future__ import annotations

from collections.abc import Iterable

# Everything a table of outbound_<realm> holds, per table, in column order.
PROJECTION_TABLES: dict[str, str] = {
    "videos": """
        id bigint PRIMARY KEY,
        owner_id bigint NOT NULL,
        caption text NOT NULL,
        hashtags text[] NOT NULL,
        mentions text[] NOT NULL,
        width integer,
        height integer,
        duration_s double precision,
        poster_key text,
        renditions jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        published_at timestamptz,
        like_count integer NOT NULL,
        comment_count integer NOT NULL,
        share_count integer NOT NULL,
        view_count bigint NOT NULL,
        label text,
        age_restricted boolean NOT NULL DEFAULT false,
        demoted boolean NOT NULL DEFAULT false,
        restricted_realms text[] NOT NULL DEFAULT '{}',
        comment_policy text NOT NULL DEFAULT 'everyone',
        allow_duet boolean NOT NULL DEFAULT true,
        allow_stitch boolean NOT NULL DEFAULT true,
        allow_sound_reuse boolean NOT NULL DEFAULT true,
        allow_download boolean NOT NULL DEFAULT false,
        allow_embed boolean NOT NULL DEFAULT true,
        sound_id bigint,
        remix_of_id bigint,
        remix_kind text,
        audio_muted boolean NOT NULL DEFAULT false,
        ai_generated boolean NOT NULL DEFAULT false,
        paid_partnership boolean NOT NULL DEFAULT false,
        cover_alt text,
        caption_edited_at timestamptz""",
    "profiles": """
        id bigint PRIMARY KEY,
        handle text NOT NULL,
        display_name text NOT NULL,
        bio text NOT NULL,
        avatar_key text,
        follower_count integer NOT NULL,
        following_count integer NOT NULL,
        video_count integer NOT NULL,
        likes_received bigint NOT NULL,
        created_at timestamptz NOT NULL""",
    "comments": """
        id bigint PRIMARY KEY,
        video_id bigint NOT NULL,
        author_id bigint NOT NULL,
        parent_id bigint,
        body text NOT NULL,
        created_at timestamptz NOT NULL,
        like_count integer NOT NULL,
        reply_count integer NOT NULL,
        label text""",
    # A sound is public while its video is (reelm.sounds); a taken-down one stays, unavailable.
    "sounds": """
        id bigint PRIMARY KEY,
        owner_id bigint NOT NULL,
        video_id bigint NOT NULL,
        title text,
        audio_key text NOT NULL,
        duration_s double precision NOT NULL,
        waveform smallint[] NOT NULL,
        status text NOT NULL,
        created_at timestamptz NOT NULL""",
    "tallies": """
        target_id bigint NOT NULL,
        metric text NOT NULL,
        value bigint NOT NULL,
        PRIMARY KEY (target_id, metric)""",
    "comment_removals": """
        comment_id bigint PRIMARY KEY,
        video_id bigint NOT NULL,
        removed_at timestamptz NOT NULL DEFAULT now()""",
    # An account that moved to another realm: its old ids (the account's, its videos') and the new ones.
    "moved_ids": """
        old_id bigint PRIMARY KEY,
        new_id bigint NOT NULL,
        moved_at timestamptz NOT NULL DEFAULT now()""",
    "transit_keys": """
        version integer PRIMARY KEY,
        public_key bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()""",
}

# Tables of outbound_<realm> published per destination realm (never whole), with what they hold.
DIRECTED_TABLES: dict[str, str] = {
    "deliveries": """
        id bigserial PRIMARY KEY,
        to_realm text NOT NULL,
        kind text NOT NULL,
        sealed bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()""",
}

# Columns added to projection tables after their first release: CREATE TABLE IF NOT EXISTS leaves an existing
# table as it was, so these are added where missing (also to the copies of other realms' projections). The
# generated ones are computed by each database that holds the table (logical replication leaves them out).
PROJECTION_ADDED_COLUMNS: dict[str, tuple[str, ...]] = {
    # Moderation (reelm.moderation): what every realm needs to show or hide a video correctly.
    "videos": (
        "label text",
        "age_restricted boolean NOT NULL DEFAULT false",
        "demoted boolean NOT NULL DEFAULT false",
        "restricted_realms text[] NOT NULL DEFAULT '{}'",
        # Search (reelm.search): the document its full-text index holds, stored so that ranking reads it
        # instead of building it again per match, and the prior that caps the matches ranked (see there).
        "search_document tsvector GENERATED ALWAYS AS ("
        "public.reelm_video_document(caption, hashtags)) STORED",
        "search_prior double precision GENERATED ALWAYS AS (public.reelm_video_prior("
        "view_count, like_count, demoted, coalesce(published_at, created_at))) STORED",
        # Permissions (reelm.videos.permissions): who may comment, and what other realms' people may do
        # with the video (a duet from another realm checks allow_duet in its copy).
        "comment_policy text NOT NULL DEFAULT 'everyone'",
        "allow_duet boolean NOT NULL DEFAULT true",
        "allow_stitch boolean NOT NULL DEFAULT true",
        "allow_sound_reuse boolean NOT NULL DEFAULT true",
        "allow_download boolean NOT NULL DEFAULT false",
        "allow_embed boolean NOT NULL DEFAULT true",
        # Sounds and remixes (reelm.sounds): the sound a video uses, the video it remixes, a muted sound.
        "sound_id bigint",
        "remix_of_id bigint",
        "remix_kind text",
        "audio_muted boolean NOT NULL DEFAULT false",
        # Labels the creator sets and the cover's text alternative (reelm.videos): shown in every realm.
        "ai_generated boolean NOT NULL DEFAULT false",
        "paid_partnership boolean NOT NULL DEFAULT false",
        "cover_alt text",
        "caption_edited_at timestamptz",
    ),
    "profiles": (
        "search_document tsvector GENERATED ALWAYS AS ("
        "public.reelm_profile_document(handle, display_name, bio)) STORED",
    ),
    "comments": ("label text",),
    # Search (reelm.search.results.find_sounds): the title's words; an unnamed sound's creator is joined
    # when searching (a handle changes on its own row, which a sound's generated column could not follow).
    "sounds": ("search_document tsvector GENERATED ALWAYS AS (public.reelm_sound_document(title)) STORED",),
}

SEARCH_STATISTICS = 2000  # lexemes sampled = 10 x this (PostgreSQL's default target is 100)

# Indexes of earlier releases that later ones replaced.
PROJECTION_DROPPED_INDEXES = ("videos_search", "profiles_search")

PROJECTION_INDEXES = (
    "CREATE INDEX IF NOT EXISTS videos_owner ON {s}.videos (owner_id, id)",
    "CREATE INDEX IF NOT EXISTS videos_published ON {s}.videos (published_at)",
    "CREATE INDEX IF NOT EXISTS videos_hashtags ON {s}.videos USING gin (hashtags)",
    "CREATE INDEX IF NOT EXISTS profiles_handle ON {s}.profiles (handle)",
    "CREATE INDEX IF NOT EXISTS comments_video ON {s}.comments (video_id, parent_id, created_at)",
    "CREATE INDEX IF NOT EXISTS comments_parent ON {s}.comments (parent_id)",
    # Search (reelm.search): the documents it matches, and the orders in which it takes its candidates.
    "CREATE INDEX IF NOT EXISTS videos_search_document ON {s}.videos USING gin (search_document)",
    "CREATE INDEX IF NOT EXISTS videos_search_prior ON {s}.videos (search_prior)",
    "CREATE INDEX IF NOT EXISTS profiles_search_document ON {s}.profiles USING gin (search_document)",
    "CREATE INDEX IF NOT EXISTS profiles_followers ON {s}.profiles (follower_count)",
    # Sounds (reelm.sounds): the videos that use a sound, and the duets and stitches of a video.
    "CREATE INDEX IF NOT EXISTS videos_sound ON {s}.videos (sound_id) WHERE sound_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS videos_remix_of ON {s}.videos (remix_of_id) WHERE remix_of_id IS NOT NULL",
    # Search of sounds: their titles, and the unnamed sounds of the accounts whose names match.
    "CREATE INDEX IF NOT EXISTS sounds_search_document ON {s}.sounds USING gin (search_document)",
    "CREATE INDEX IF NOT EXISTS sounds_owner ON {s}.sounds (owner_id) WHERE title IS NULL",
)

# Metrics of `tallies`, and the counter of the owner realm each one adds to.
TALLY_METRICS = {
    "video_likes": "UPDATE videos SET like_count = like_count + delta WHERE id = target",
    "video_comments": "UPDATE videos SET comment_count = comment_count + delta WHERE id = target",
    "video_shares": "UPDATE videos SET share_count = share_count + delta WHERE id = target",
    "video_views": "UPDATE videos SET view_count = view_count + delta WHERE id = target",
    "video_reposts": "UPDATE videos SET repost_count = repost_count + delta WHERE id = target",
    "user_followers": "UPDATE users SET follower_count = follower_count + delta WHERE id = target",
    "comment_likes": "UPDATE comments SET like_count = like_count + delta WHERE id = target",
    "comment_replies": "UPDATE comments SET reply_count = reply_count + delta WHERE id = target",
}

VIEWED_TABLES = ("videos", "profiles", "comments", "sounds", "tallies", "moved_ids")


def _columns(tables: dict[str, str]) -> dict[str, set[str]]:
    return {
        table: {
            line.split()[0]
            for line in body.strip().splitlines()
            if line.split() and line.split()[0] != "PRIMARY"
        }
        for table, body in tables.items()
    }


def projection_columns() -> dict[str, set[str]]:
    """The declared columns of each projection table (what the residency check allows to be published)."""
    return _columns(PROJECTION_TABLES)


def directed_columns() -> dict[str, set[str]]:
    """The declared columns of each directed table (publishable only per destination, inserts only)."""
    return _columns(DIRECTED_TABLES)


def directed_publication(source: str, target: str) -> str:
    """What `source` publishes to `target` alone."""
    return f"{schema_of(source)}_to_{target}"


def schema_of(realm: str) -> str:
    """The projection schema of a realm (realm names are validated identifiers: [a-z][a-z0-9]*)."""
    return f"outbound_{realm}"


def projection_tables_sql(realm: str) -> list[str]:
    s = schema_of(realm)
    statements = [f"CREATE SCHEMA IF NOT EXISTS {s}"]
    statements += [
        f"CREATE TABLE IF NOT EXISTS {s}.{name} ({body})"
        for name, body in (PROJECTION_TABLES | DIRECTED_TABLES).items()
    ]
    statements += [
        f"ALTER TABLE {s}.{table} ADD COLUMN IF NOT EXISTS {column}"
        for table, columns in PROJECTION_ADDED_COLUMNS.items()
        for column in columns
    ]
    # Search's documents hold many rare words: a fuller sample of the commonest lets the planner tell a
    # common word (read in order of the prior) from a rare one (read through the text index).
    statements += [
        f"ALTER TABLE {s}.{table} ALTER COLUMN search_document SET STATISTICS {SEARCH_STATISTICS}"
        for table in ("videos", "profiles", "sounds")
    ]
    statements += [f"DROP INDEX IF EXISTS {s}.{index}" for index in PROJECTION_DROPPED_INDEXES]
    statements += [index.format(s=s) for index in PROJECTION_INDEXES]
    return statements


def view_columns(table: str) -> list[str]:
    """The columns of a projection table as its view lists them: those of its first release, then the added
    ones. Named, not `t.*`: a table created afresh (a realm added later) has an added column where its body
    declares it, one that existed before has it where ALTER TABLE put it, at the end, and UNION ALL matches
    columns by position."""
    names = [
        line.split()[0]
        for line in PROJECTION_TABLES[table].strip().splitlines()
        if line.split() and line.split()[0] != "PRIMARY"
    ]
    added = [column.split()[0] for column in PROJECTION_ADDED_COLUMNS.get(table, ())]
    return names + [name for name in added if name not in names]


def views_sql(realms: Iterable[str]) -> list[str]:
    """`public_<table>` for each viewed table: every realm's projections, with their realm."""
    statements = []
    for table in VIEWED_TABLES:
        columns = ", ".join(f"t.{name}" for name in view_columns(table))
        union = "\nUNION ALL\n".join(
            f"SELECT '{realm}'::text AS realm, {columns} FROM {schema_of(realm)}.{table} t"
            for realm in realms
        )
        statements += [f"DROP VIEW IF EXISTS public_{table}", f"CREATE VIEW public_{table} AS\n{union}"]
    return statements


# What search matches (reelm.search), as SQL so that the documents, their indexes and every query fold text
# alike: lower case, compatibility-decomposed, without combining marks ("Café" and "CAFE" are "cafe"), split
# by the language-neutral `simple` parser (no stemming: captions are in every language). Hashtags and
# handles weigh most (A), names next (B), captions (C) and bios (D) least. The functions call each other
# schema-qualified: logical replication applies rows with an empty search_path.
# How many days back `search_hashtag_days` counts (Explore reads the last 7; one more covers a day turning).
HASHTAG_DAYS_KEPT = 8
SEARCH_HALF_LIFE_DAYS = 90  # a search result this much older than another scores half, other things equal
SEARCH_PRIOR_EPOCH = 1_767_225_600  # 2026-01-01 UTC: the day freshness is counted from (keeps priors small)

SEARCH_FUNCTIONS = (
    r"""CREATE OR REPLACE FUNCTION reelm_search_fold(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT pg_catalog.regexp_replace(normalize(pg_catalog.lower(
            pg_catalog.replace(coalesce(value, ''), 'ß', 'ss')), NFKD), '[\u0300-\u036f]', '', 'g') $$""",
    """CREATE OR REPLACE FUNCTION reelm_video_document(caption text, hashtags text[]) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT pg_catalog.setweight(pg_catalog.to_tsvector('pg_catalog.simple',
                   public.reelm_search_fold(pg_catalog.array_to_string(hashtags, ' '))), 'A')
              || pg_catalog.setweight(pg_catalog.to_tsvector('pg_catalog.simple',
                   public.reelm_search_fold(caption)), 'C') $$""",
    # A video's standing apart from the words searched (reelm.search.results): ln(engagement x demotion x
    # freshness), freshness halving every SEARCH_HALF_LIFE_DAYS. Counted from a fixed day, an exponential
    # decay orders videos the same way whenever it is read, so the prior can be stored and indexed: search
    # takes the best matches in this order and ranks only those. Rounded to 1/64 (under 2 % of the score),
    # so that most new views leave it unchanged and the row's update stays a heap-only one.
    f"""CREATE OR REPLACE FUNCTION reelm_video_prior(
      views bigint, likes integer, demoted boolean, published timestamptz) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT pg_catalog.round((
        pg_catalog.ln(1 + 0.1 * pg_catalog.ln(1 + greatest(views, 0)::float8)
                        + 0.2 * pg_catalog.ln(1 + greatest(likes, 0)::float8))
        + CASE WHEN demoted THEN pg_catalog.ln(0.5::float8) ELSE 0 END
        + pg_catalog.ln(2::float8) / {SEARCH_HALF_LIFE_DAYS}
          * (pg_catalog.date_part('epoch', published) - {SEARCH_PRIOR_EPOCH}) / 86400
      )::numeric * 64)::float8 / 64 $$""",
    # A sound's title; an unnamed one reads "original sound" (as it is shown, in English: a document holds
    # no viewer's language), so those words find it with its creator's name (reelm.search.results).
    """CREATE OR REPLACE FUNCTION reelm_sound_document(title text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT pg_catalog.setweight(pg_catalog.to_tsvector('pg_catalog.simple',
                   public.reelm_search_fold(coalesce(title, 'original sound'))), 'A') $$""",
    """CREATE OR REPLACE FUNCTION reelm_profile_document(handle text, display_name text, bio text)
    RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT pg_catalog.setweight(pg_catalog.to_tsvector('pg_catalog.simple',
                   public.reelm_search_fold(handle)), 'A')
              || pg_catalog.setweight(pg_catalog.to_tsvector('pg_catalog.simple',
                   public.reelm_search_fold(display_name)), 'B')
              || pg_catalog.setweight(pg_catalog.to_tsvector('pg_catalog.simple',
                   public.reelm_search_fold(bio)), 'D') $$""",
    # How many public videos (of every realm this database holds) carry each hashtag, kept by a trigger on
    # every projection of videos: typeahead and the hashtag results read one row per tag. The same trigger
    # keeps `search_hashtag_days` (public videos per tag and UTC day of publication) for Explore's trends.
    # Counting at publication costs a few row writes per publish, in a trigger that already runs; reading the
    # trends is then 7 small rows per tag, whereas grouping a week of `public_videos` by unnested tag on every
    # Explore visit would grow with the upload volume of every realm. Only days from HASHTAG_DAYS_KEPT ago
    # on are counted, by the insert and the delete alike: a day inside the window always holds its exact
    # count (its videos were all counted when they arrived, the window only moves forward), older rows are
    # never read, and a publish prunes its tags' rows older than that.
    f"""CREATE OR REPLACE FUNCTION reelm_count_hashtags() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public AS $$
    DECLARE
      since date := (pg_catalog.now() AT TIME ZONE 'UTC')::date - {HASHTAG_DAYS_KEPT};
      old_day date;
      new_day date;
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        old_day := (coalesce(OLD.published_at, OLD.created_at) AT TIME ZONE 'UTC')::date;
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') THEN
        new_day := (coalesce(NEW.published_at, NEW.created_at) AT TIME ZONE 'UTC')::date;
      END IF;
      IF TG_OP = 'UPDATE' AND OLD.hashtags IS NOT DISTINCT FROM NEW.hashtags AND old_day = new_day THEN
        RETURN NULL;
      END IF;
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE search_hashtags SET videos = videos - 1
         WHERE tag IN (SELECT DISTINCT t FROM unnest(OLD.hashtags) t ORDER BY t);
        IF old_day >= since THEN
          UPDATE search_hashtag_days SET videos = videos - 1
           WHERE day = old_day AND tag IN (SELECT DISTINCT t FROM unnest(OLD.hashtags) t ORDER BY t);
        END IF;
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') THEN
        -- In tag order, so that two publishes with the same tags lock their rows in the same order.
        INSERT INTO search_hashtags AS h (tag, folded, videos)
        SELECT DISTINCT t, reelm_search_fold(t), 1 FROM unnest(NEW.hashtags) t ORDER BY t
        ON CONFLICT (tag) DO UPDATE SET videos = h.videos + 1;
        IF new_day >= since THEN
          INSERT INTO search_hashtag_days AS d (tag, day, videos)
          SELECT DISTINCT t, new_day, 1 FROM unnest(NEW.hashtags) t ORDER BY t
          ON CONFLICT (tag, day) DO UPDATE SET videos = d.videos + 1;
          DELETE FROM search_hashtag_days WHERE tag = ANY (NEW.hashtags) AND day < since;
        END IF;
      END IF;
      RETURN NULL;
    END $$""",
    # Search's vocabulary (reelm.search.models.SearchWord): the words of 4+ letters a document holds, so that
    # a typo is expanded to the real words one edit away before it reaches the full-text index.
    """CREATE OR REPLACE FUNCTION reelm_collect_words() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND OLD.search_document IS NOT DISTINCT FROM NEW.search_document THEN
        RETURN NULL;
      END IF;
      INSERT INTO search_words (word)
      SELECT w FROM unnest(tsvector_to_array(NEW.search_document)) w WHERE length(w) >= 4 ORDER BY w
      ON CONFLICT DO NOTHING;
      RETURN NULL;
    END $$""",
)


def search_triggers_sql(realm: str) -> list[str]:
    """The triggers that keep search's hashtag counts and vocabulary in step with one realm's projections."""
    s = schema_of(realm)
    triggers = (
        (f"{s}.videos", "reelm_count_hashtags_trg", "INSERT OR UPDATE OR DELETE", "reelm_count_hashtags"),
        (f"{s}.videos", "reelm_collect_words_trg", "INSERT OR UPDATE", "reelm_collect_words"),
        (f"{s}.profiles", "reelm_collect_words_trg", "INSERT OR UPDATE", "reelm_collect_words"),
        (f"{s}.sounds", "reelm_collect_words_trg", "INSERT OR UPDATE", "reelm_collect_words"),
    )
    statements = []
    for table, trigger, events, function in triggers:
        statements += [
            f"DROP TRIGGER IF EXISTS {trigger} ON {table}",
            f"CREATE TRIGGER {trigger} AFTER {events} ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()",
            f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {trigger}",
        ]
    return statements


def helpers_sql(realm: str, code: int) -> list[str]:
    return [
        *SEARCH_FUNCTIONS,
        f"""CREATE OR REPLACE FUNCTION reelm_home_realm() RETURNS text LANGUAGE sql IMMUTABLE
           SET search_path = public AS $$ SELECT '{realm}'::text $$""",
        f"""CREATE OR REPLACE FUNCTION reelm_home_code() RETURNS integer LANGUAGE sql IMMUTABLE
           SET search_path = public AS $$ SELECT {code} $$""",
        # The realm code sits in bits 16..21 of every id (reelm.ids).
        """CREATE OR REPLACE FUNCTION reelm_is_local(target bigint) RETURNS boolean LANGUAGE sql IMMUTABLE
           SET search_path = public AS $$ SELECT ((target >> 16) & 63)::integer = reelm_home_code() $$""",
        # This realm's transit key pairs (reelm.crossrealm.transit): the private halves, wrapped by the
        # realm's KEK; never published.
        """CREATE TABLE IF NOT EXISTS crossrealm_transit_keys (
           version integer PRIMARY KEY,
           public_key bytea NOT NULL,
           wrapped_private bytea NOT NULL,
           kek_version integer NOT NULL,
           created_at timestamptz NOT NULL DEFAULT now())""",
    ]


def _upsert(s: str, table: str, columns: str, select: str) -> str:
    """Insert or update a projection row, writing (and so replicating) only when something changed."""
    names = [c.strip() for c in columns.split(",")]
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in names if c != "id")
    return (
        f"INSERT INTO {s}.{table} AS t ({columns}) {select} "
        f"ON CONFLICT (id) DO UPDATE SET {assignments} "
        f"WHERE ({', '.join('t.' + c for c in names)}) IS DISTINCT FROM "
        f"({', '.join('EXCLUDED.' + c for c in names)})"
    )


def projection_functions_sql(realm: str) -> list[str]:
    """The functions that compute this realm's projections from its own tables."""
    s = schema_of(realm)
    video_columns = (
        "id, owner_id, caption, hashtags, mentions, width, height, duration_s, poster_key, renditions, "
        "created_at, published_at, like_count, comment_count, share_count, view_count, "
        "label, age_restricted, demoted, restricted_realms, "
        "comment_policy, allow_duet, allow_stitch, allow_sound_reuse, allow_download, allow_embed, "
        "sound_id, remix_of_id, remix_kind, audio_muted, ai_generated, paid_partnership, cover_alt, "
        "caption_edited_at"
    )
    video_select = """SELECT v.id, v.owner_id, v.caption, v.hashtags, v.mentions, v.width, v.height,
            v.duration_s, v.poster_key,
            COALESCE((SELECT jsonb_agg(jsonb_build_object('name', r.name, 'width', r.width,
                'height', r.height, 'bandwidth', r.bandwidth, 'codecs', r.codecs, 'mp4_key', r.mp4_key,
                'hls_key', r.hls_key) ORDER BY r.height) FROM renditions r WHERE r.video_id = v.id), '[]'),
            v.created_at, v.published_at, v.like_count, v.comment_count, v.share_count, v.view_count,
            v.mod_label, v.age_restricted, v.demoted, v.restricted_realms, v.comment_policy,
            v.allow_duet, v.allow_stitch, v.allow_sound_reuse, v.allow_download, v.allow_embed,
            v.sound_id, v.remix_of_id, v.remix_kind, v.audio_muted, v.ai_generated, v.paid_partnership,
            v.cover_alt, v.caption_edited_at
          FROM videos v WHERE v.id = vid"""
    sound_columns = "id, owner_id, video_id, title, audio_key, duration_s, waveform, status, created_at"
    sound_select = f"SELECT {sound_columns} FROM sounds WHERE id = sid"
    profile_columns = (
        "id, handle, display_name, bio, avatar_key, follower_count, following_count, video_count, "
        "likes_received, created_at"
    )
    profile_select = f"SELECT {profile_columns} FROM users WHERE id = uid"
    comment_columns = "id, video_id, author_id, parent_id, body, created_at, like_count, reply_count, label"
    comment_select = (
        "SELECT id, video_id, author_id, parent_id, body, created_at, like_count, reply_count, mod_label "
        "FROM comments WHERE id = cid"
    )
    return [
        f"""CREATE OR REPLACE FUNCTION reelm_project_video(vid bigint) RETURNS void
        LANGUAGE plpgsql SET search_path = public AS $$
        DECLARE was_public boolean := EXISTS (SELECT 1 FROM {s}.videos WHERE id = vid);
        BEGIN
          IF EXISTS (SELECT 1 FROM videos v JOIN users u ON u.id = v.owner_id
                     WHERE v.id = vid AND v.status = 'ready' AND v.visibility = 'public'
                       AND u.deletion_due_at IS NULL
                       AND NOT EXISTS (SELECT 1 FROM moderation_suspensions ms WHERE ms.user_id = u.id)) THEN
            {_upsert(s, "videos", video_columns, video_select)};
          ELSE
            DELETE FROM {s}.videos WHERE id = vid;
          END IF;
          IF was_public <> EXISTS (SELECT 1 FROM {s}.videos WHERE id = vid) THEN
            PERFORM reelm_project_comment(c.id) FROM comments c WHERE c.video_id = vid;
            PERFORM reelm_project_sound(so.id) FROM sounds so WHERE so.video_id = vid;
          END IF;
        END $$""",
        f"""CREATE OR REPLACE FUNCTION reelm_project_sound(sid bigint) RETURNS void
        LANGUAGE plpgsql SET search_path = public AS $$
        BEGIN
          IF EXISTS (SELECT 1 FROM sounds so JOIN {s}.videos v ON v.id = so.video_id WHERE so.id = sid) THEN
            {_upsert(s, "sounds", sound_columns, sound_select)};
          ELSE
            DELETE FROM {s}.sounds WHERE id = sid;
          END IF;
        END $$""",
        f"""CREATE OR REPLACE FUNCTION reelm_project_profile(uid bigint) RETURNS void
        LANGUAGE plpgsql SET search_path = public AS $$
        BEGIN
          IF EXISTS (SELECT 1 FROM users WHERE id = uid AND deletion_due_at IS NULL
                     AND NOT EXISTS (SELECT 1 FROM moderation_suspensions ms WHERE ms.user_id = uid)) THEN
            {_upsert(s, "profiles", profile_columns, profile_select)};
          ELSE
            DELETE FROM {s}.profiles WHERE id = uid;
          END IF;
        END $$""",
        # A comment is public while its author is active (not pending deletion, not suspended), moderation
        # has neither held nor removed it, its video is public (in any realm) and its parent, if any, is
        # public too.
        f"""CREATE OR REPLACE FUNCTION reelm_project_comment(cid bigint) RETURNS void
        LANGUAGE plpgsql SET search_path = public AS $$
        BEGIN
          IF EXISTS (SELECT 1 FROM comments c JOIN users u ON u.id = c.author_id
                     WHERE c.id = cid AND u.deletion_due_at IS NULL AND c.mod_state = 'visible'
                       AND NOT EXISTS (SELECT 1 FROM moderation_suspensions ms WHERE ms.user_id = u.id)
                       AND EXISTS (SELECT 1 FROM public_videos pv WHERE pv.id = c.video_id)
                       AND (c.parent_id IS NULL
                            OR EXISTS (SELECT 1 FROM public_comments pc WHERE pc.id = c.parent_id))) THEN
            {_upsert(s, "comments", comment_columns, comment_select)};
          ELSE
            DELETE FROM {s}.comments WHERE id = cid;
          END IF;
        END $$""",
        f"""CREATE OR REPLACE FUNCTION reelm_tally(target bigint, what text, delta bigint)
        RETURNS void LANGUAGE sql SET search_path = public AS $$
          INSERT INTO {s}.tallies AS t (target_id, metric, value) VALUES (target, what, delta)
          ON CONFLICT (target_id, metric) DO UPDATE SET value = t.value + EXCLUDED.value
        $$""",
    ]


# Source table → body of its AFTER ROW trigger function. `row_` is NEW, or OLD for a DELETE.
SOURCE_TRIGGERS: dict[str, str] = {
    "videos": "PERFORM reelm_project_video(row_.id);",
    "renditions": "PERFORM reelm_project_video(row_.video_id);",
    "sounds": "PERFORM reelm_project_sound(row_.id);",
    "users": """
        PERFORM reelm_project_profile(row_.id);
        IF TG_OP = 'UPDATE' AND OLD.deletion_due_at IS DISTINCT FROM NEW.deletion_due_at THEN
          -- An account pending deletion disappears everywhere at once, and comes back if restored.
          PERFORM reelm_project_video(v.id) FROM videos v WHERE v.owner_id = row_.id;
          PERFORM reelm_project_comment(c.id) FROM comments c WHERE c.author_id = row_.id;
        END IF;""",
    "comments": """
        PERFORM reelm_project_comment(row_.id);
        IF TG_OP = 'INSERT' OR TG_OP = 'DELETE' THEN
          IF NOT reelm_is_local(row_.video_id) THEN
            PERFORM reelm_tally(row_.video_id, 'video_comments', CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END);
          END IF;
          IF row_.parent_id IS NOT NULL AND NOT reelm_is_local(row_.parent_id) THEN
            PERFORM reelm_tally(row_.parent_id, 'comment_replies',
                                CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END);
          END IF;
        END IF;
        IF TG_OP = 'DELETE' THEN
          -- What hung off a removed comment here: its replies and likes (they have no foreign key).
          DELETE FROM comments WHERE parent_id = row_.id;
          DELETE FROM comment_likes WHERE comment_id = row_.id;
        END IF;""",
    # A suspension (reelm.moderation) takes the account's profile, videos and comments out of the
    # projections, and its end brings them back.
    "moderation_suspensions": """
        PERFORM reelm_project_profile(row_.user_id);
        PERFORM reelm_project_video(v.id) FROM videos v WHERE v.owner_id = row_.user_id;
        PERFORM reelm_project_comment(c.id) FROM comments c WHERE c.author_id = row_.user_id;""",
    "video_likes": """
        IF NOT reelm_is_local(row_.video_id) THEN
          PERFORM reelm_tally(row_.video_id, 'video_likes', CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END);
        END IF;""",
    # Reposts (reelm.social.reposts): kept by the reposter's realm, only their count crosses.
    "video_reposts": """
        IF NOT reelm_is_local(row_.video_id) THEN
          PERFORM reelm_tally(row_.video_id, 'video_reposts', CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END);
        END IF;""",
    "comment_likes": """
        IF NOT reelm_is_local(row_.comment_id) THEN
          PERFORM reelm_tally(row_.comment_id, 'comment_likes', CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END);
        END IF;""",
    "follows": """
        IF NOT reelm_is_local(row_.followee_id) THEN
          PERFORM reelm_tally(row_.followee_id, 'user_followers',
                              CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END);
        END IF;""",
}

# Tables whose rows only come and go (no counters of their own to project on UPDATE).
INSERT_DELETE_ONLY = {"video_likes", "comment_likes", "follows", "video_reposts"}


def _row_trigger(table: str, function: str, body: str, events: str, *, args: str = "") -> list[str]:
    trigger = f"{function}_trg"
    return [
        f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger
        LANGUAGE plpgsql SET search_path = public AS $$
        DECLARE row_ record;
        BEGIN
          IF TG_OP = 'DELETE' THEN row_ := OLD; ELSE row_ := NEW; END IF;
          {body}
          RETURN NULL;
        END $$""",
        f"DROP TRIGGER IF EXISTS {trigger} ON {table}",
        f"CREATE TRIGGER {trigger} AFTER {events} ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {function}({args})",
        f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {trigger}",
    ]


def source_triggers_sql() -> list[str]:
    statements = []
    for table, body in SOURCE_TRIGGERS.items():
        events = "INSERT OR DELETE" if table in INSERT_DELETE_ONLY else "INSERT OR UPDATE OR DELETE"
        statements += _row_trigger(table, f"reelm_project_on_{table}", body, events)
    return statements


def _apply_tally_sql() -> str:
    cases = "\n".join(f"WHEN '{metric}' THEN {update};" for metric, update in TALLY_METRICS.items())
    return f"""CREATE OR REPLACE FUNCTION reelm_apply_tally() RETURNS trigger
        LANGUAGE plpgsql SET search_path = public AS $$
        DECLARE target bigint; what text; delta bigint;
        BEGIN
          IF TG_OP = 'DELETE' THEN target := OLD.target_id; what := OLD.metric; delta := -OLD.value;
          ELSIF TG_OP = 'INSERT' THEN target := NEW.target_id; what := NEW.metric; delta := NEW.value;
          ELSE target := NEW.target_id; what := NEW.metric; delta := NEW.value - OLD.value;
          END IF;
          IF NOT reelm_is_local(target) OR delta = 0 THEN RETURN NULL; END IF;
          IF what = 'video_likes' THEN
            UPDATE users SET likes_received = likes_received + delta
             WHERE id = (SELECT owner_id FROM videos WHERE id = target);
          END IF;
          CASE what
            {cases}
            ELSE NULL;
          END CASE;
          RETURN NULL;
        END $$"""


_RETALLY_SQL = """CREATE OR REPLACE FUNCTION reelm_retally(old bigint, new bigint, what text, n integer)
        RETURNS void LANGUAGE plpgsql SET search_path = public AS $$
        BEGIN
          IF n > 0 AND NOT reelm_is_local(old) THEN PERFORM reelm_tally(old, what, -n); END IF;
          IF n > 0 AND NOT reelm_is_local(new) THEN PERFORM reelm_tally(new, what, n); END IF;
        END $$"""

# What other realms' users added to one of this realm's counters (their tallies of it).
_RECEIVED_SQL = """CREATE OR REPLACE FUNCTION reelm_received(target bigint, what text) RETURNS bigint
        LANGUAGE sql STABLE SET search_path = public AS $$
          SELECT COALESCE(sum(value), 0) FROM public_tallies
           WHERE target_id = target AND metric = what AND realm <> reelm_home_realm()
        $$"""

_APPLY_MOVE_SQL = """CREATE OR REPLACE FUNCTION reelm_apply_move(old bigint, new bigint) RETURNS void
        LANGUAGE plpgsql SET search_path = public AS $$
        DECLARE moved integer;
        BEGIN
          -- Delete and insert rather than update: the row triggers then tally them for their new target.
          INSERT INTO follows (follower_id, followee_id, created_at)
            SELECT follower_id, new, created_at FROM follows WHERE followee_id = old ON CONFLICT DO NOTHING;
          DELETE FROM follows WHERE followee_id = old;
          INSERT INTO video_likes (user_id, video_id, created_at)
            SELECT user_id, new, created_at FROM video_likes WHERE video_id = old ON CONFLICT DO NOTHING;
          DELETE FROM video_likes WHERE video_id = old;
          INSERT INTO video_reposts (user_id, video_id, created_at)
            SELECT user_id, new, created_at FROM video_reposts WHERE video_id = old ON CONFLICT DO NOTHING;
          DELETE FROM video_reposts WHERE video_id = old;
          INSERT INTO comment_likes (user_id, comment_id, created_at)
            SELECT user_id, new, created_at FROM comment_likes WHERE comment_id = old ON CONFLICT DO NOTHING;
          DELETE FROM comment_likes WHERE comment_id = old;
          -- Comments keep their ids (replies and likes hang off them): moved in place, tallies by hand.
          UPDATE comments SET parent_id = new WHERE parent_id = old;
          GET DIAGNOSTICS moved = ROW_COUNT;
          PERFORM reelm_retally(old, new, 'comment_replies', moved);
          UPDATE comments SET video_id = new WHERE video_id = old;
          GET DIAGNOSTICS moved = ROW_COUNT;
          PERFORM reelm_retally(old, new, 'video_comments', moved);
          IF reelm_is_local(new) THEN  -- the account arrived here: its counters from what points at it now
            UPDATE users u SET follower_count = (SELECT count(*) FROM follows f WHERE f.followee_id = new)
                + reelm_received(new, 'user_followers')
             WHERE u.id = new;
            UPDATE videos v SET
                like_count = (SELECT count(*) FROM video_likes l WHERE l.video_id = new)
                  + reelm_received(new, 'video_likes'),
                comment_count = (SELECT count(*) FROM comments c WHERE c.video_id = new)
                  + reelm_received(new, 'video_comments')
             WHERE v.id = new;
            UPDATE comments c SET
                like_count = (SELECT count(*) FROM comment_likes l WHERE l.comment_id = new)
                  + reelm_received(new, 'comment_likes'),
                reply_count = (SELECT count(*) FROM comments r WHERE r.parent_id = new)
                  + reelm_received(new, 'comment_replies')
             WHERE c.id = new;
          END IF;
        END $$"""


def received_functions_sql() -> list[str]:
    """Functions run by the triggers on the copies of other realms' projections."""
    return [
        _RETALLY_SQL,
        _RECEIVED_SQL,
        _APPLY_MOVE_SQL,
        _apply_tally_sql(),
        """CREATE OR REPLACE FUNCTION reelm_count_flow() RETURNS trigger
        LANGUAGE plpgsql SET search_path = public AS $$
        BEGIN
          INSERT INTO realm_flows AS f (day, source_realm, relation, operation, rows)
          VALUES ((now() AT TIME ZONE 'UTC')::date, TG_ARGV[0], TG_TABLE_NAME, TG_OP, 1)
          ON CONFLICT (day, source_realm, relation, operation) DO UPDATE SET rows = f.rows + 1;
          RETURN NULL;
        END $$""",
    ]


ARRIVED = "reelm_deliveries"  # the channel on which a realm hears that deliveries arrived

# Copy of another realm's table → what this realm does when a row arrives or goes.
RECEIVED_TRIGGERS: dict[str, tuple[str, str]] = {
    "tallies": ("INSERT OR UPDATE OR DELETE", "apply_tally"),
    # A creator of that realm removed a comment of ours from their video: the comment goes here.
    "comment_removals": (
        "INSERT",
        "DELETE FROM comments WHERE id = row_.comment_id AND video_id = row_.video_id;",
    ),
    # A video or comment appeared or went: our comments on it follow its visibility.
    "videos": (
        "INSERT OR DELETE",
        "PERFORM reelm_project_comment(c.id) FROM comments c WHERE c.video_id = row_.id;",
    ),
    "comments": (
        "INSERT OR DELETE",
        "PERFORM reelm_project_comment(c.id) FROM comments c WHERE c.parent_id = row_.id;",
    ),
    # An account of that realm moved: what our users pointed at follows it.
    "moved_ids": ("INSERT", "PERFORM reelm_apply_move(row_.old_id, row_.new_id);"),
}


def received_triggers_sql(source_realm: str) -> list[str]:
    """Triggers on this database's copy of `outbound_<source_realm>` (never on its own projections)."""
    s = schema_of(source_realm)
    statements = []
    for table, (events, body) in RECEIVED_TRIGGERS.items():
        function = f"reelm_received_{table}_from_{source_realm}"
        if body == "apply_tally":
            trigger = f"{function}_trg"
            statements += [
                f"DROP TRIGGER IF EXISTS {trigger} ON {s}.{table}",
                f"CREATE TRIGGER {trigger} AFTER {events} ON {s}.{table} "
                "FOR EACH ROW EXECUTE FUNCTION reelm_apply_tally()",
                f"ALTER TABLE {s}.{table} ENABLE ALWAYS TRIGGER {trigger}",
            ]
        else:
            statements += _row_trigger(f"{s}.{table}", function, body, events)
    # A delivery that arrived wakes this realm's workers, naming its realm (reelm.crossrealm.deliveries).
    statements += _row_trigger(
        f"{s}.deliveries",
        f"reelm_received_deliveries_from_{source_realm}",
        f"PERFORM pg_notify('{ARRIVED}', '{source_realm}');",
        "INSERT",
    )
    for table in (*PROJECTION_TABLES, *DIRECTED_TABLES):
        trigger = f"reelm_count_flow_{table}"
        statements += [
            f"DROP TRIGGER IF EXISTS {trigger} ON {s}.{table}",
            f"CREATE TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE ON {s}.{table} "
            f"FOR EACH ROW EXECUTE FUNCTION reelm_count_flow('{source_realm}')",
            f"ALTER TABLE {s}.{table} ENABLE ALWAYS TRIGGER {trigger}",
        ]
    return statements


def backfill_sql() -> list[str]:
    """Project what existed before the triggers did (idempotent: unchanged rows are not rewritten)."""
    return [
        "SELECT reelm_project_profile(id) FROM users",
        "SELECT reelm_project_video(id) FROM videos",
        "SELECT reelm_project_comment(id) FROM comments WHERE parent_id IS NULL",
        "SELECT reelm_project_comment(id) FROM comments WHERE parent_id IS NOT NULL",
        "SELECT reelm_project_sound(id) FROM sounds",
        # Counted afresh: the realm list (and so the projections counted) may have changed.
        "DELETE FROM search_hashtags",
        "INSERT INTO search_hashtags (tag, folded, videos) "
        "SELECT t, reelm_search_fold(t), count(*) FROM public_videos, unnest(hashtags) t GROUP BY t",
        "DELETE FROM search_hashtag_days",
        "INSERT INTO search_hashtag_days (tag, day, videos) "
        "SELECT t, (coalesce(published_at, created_at) AT TIME ZONE 'UTC')::date AS day, count(*) "
        "FROM public_videos, unnest(hashtags) t "
        "WHERE (coalesce(published_at, created_at) AT TIME ZONE 'UTC')::date "
        f">= (now() AT TIME ZONE 'UTC')::date - {HASHTAG_DAYS_KEPT} GROUP BY t, day",
        "INSERT INTO search_words (word) SELECT DISTINCT w FROM public_videos, "
        "unnest(tsvector_to_array(search_document)) w WHERE length(w) >= 4 ON CONFLICT DO NOTHING",
        "INSERT INTO search_words (word) SELECT DISTINCT w FROM public_profiles, "
        "unnest(tsvector_to_array(search_document)) w WHERE length(w) >= 4 ON CONFLICT DO NOTHING",
        "INSERT INTO search_words (word) SELECT DISTINCT w FROM public_sounds, "
        "unnest(tsvector_to_array(search_document)) w WHERE length(w) >= 4 ON CONFLICT DO NOTHING",
    ]
