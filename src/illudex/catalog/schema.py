"""The catalog's schema, as numbered migrations.

Each entry of `MIGRATIONS` upgrades the schema by one version; `PRAGMA user_version`
records how far a catalog has come. Append new migrations; never edit old ones.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: the foundation
    """
    CREATE TABLE folders (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,          -- absolute, as given by the user (resolved)
        added_at REAL NOT NULL
    );

    CREATE TABLE images (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,          -- absolute; undecodable bytes shown as \\xNN
        raw_path BLOB,                      -- the real os.fsencode(path) when not valid UTF-8
        folder_id INTEGER REFERENCES folders(id) ON DELETE SET NULL,
        size INTEGER NOT NULL,              -- bytes
        mtime_ns INTEGER NOT NULL,
        digest TEXT NOT NULL,               -- BLAKE2b-128 of the file's bytes
        width INTEGER,
        height INTEGER,
        format TEXT,
        mode TEXT,
        has_alpha INTEGER NOT NULL DEFAULT 0,
        animated INTEGER NOT NULL DEFAULT 0,
        n_frames INTEGER NOT NULL DEFAULT 1,
        params TEXT,                        -- JSON of PNG text chunks, or NULL
        added_at REAL NOT NULL,
        scanned_at REAL NOT NULL
    );
    CREATE INDEX images_digest ON images(digest);
    CREATE INDEX images_folder ON images(folder_id);

    -- Files that could not be read: kept so a re-scan can skip them until they change.
    CREATE TABLE scan_errors (
        path TEXT PRIMARY KEY,
        size INTEGER,
        mtime_ns INTEGER,
        error TEXT NOT NULL,
        at REAL NOT NULL
    );

    -- Per-image outputs of analysers (hashes, thumbnails for verification ...).
    CREATE TABLE features (
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        analyser TEXT NOT NULL,
        version INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (image_id, analyser)
    ) WITHOUT ROWID;

    CREATE TABLE tags (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,          -- canonical booru form: lower case, underscores
        category TEXT NOT NULL DEFAULT 'general'
            -- general | character | copyright | artist | meta | rating
    );

    CREATE TABLE image_tags (
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
        source TEXT NOT NULL,               -- 'sidecar' | 'user' | 'model:NAME' | 'implied'
        score REAL,                         -- model confidence, NULL for people
        PRIMARY KEY (image_id, tag_id, source)
    ) WITHOUT ROWID;
    CREATE INDEX image_tags_tag ON image_tags(tag_id, image_id);

    CREATE TABLE tag_aliases (
        alias TEXT PRIMARY KEY,             -- a name that means tag_id
        tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE
    ) WITHOUT ROWID;

    CREATE TABLE tag_implications (
        tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
        implied_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
        PRIMARY KEY (tag_id, implied_id)
    ) WITHOUT ROWID;

    CREATE TABLE tag_translations (
        tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
        lang TEXT NOT NULL,                 -- BCP 47-ish: 'ja', 'zh', 'en' ...
        name TEXT NOT NULL,
        PRIMARY KEY (tag_id, lang, name)
    ) WITHOUT ROWID;
    CREATE INDEX tag_translations_name ON tag_translations(name);

    -- Which model runs have been done on which image (so reruns skip them).
    CREATE TABLE model_runs (
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        kind TEXT NOT NULL,                 -- 'tags' | 'embedding'
        at REAL NOT NULL,
        PRIMARY KEY (image_id, model, kind)
    ) WITHOUT ROWID;

    -- Embeddings: float32 little-endian blobs; the ANN index files are rebuilt from here.
    CREATE TABLE embeddings (
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        dim INTEGER NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (model, image_id)
    ) WITHOUT ROWID;

    -- Duplicate decisions, keyed by content so they survive moves and renames.
    CREATE TABLE dupe_decisions (
        digest_a TEXT NOT NULL,             -- digest_a < digest_b
        digest_b TEXT NOT NULL,
        relation TEXT NOT NULL,             -- 'duplicate' | 'alternate' | 'not_duplicate'
        at REAL NOT NULL,
        PRIMARY KEY (digest_a, digest_b)
    ) WITHOUT ROWID;

    -- The journal: every file operation is written here before it is done.
    CREATE TABLE actions (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,                 -- 'dupes-trash', 'dupes-move', 'write-txt', ...
        summary TEXT NOT NULL,
        created_at REAL NOT NULL,
        state TEXT NOT NULL DEFAULT 'open'  -- 'open' | 'done' | 'undone'
    );
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY,
        action_id INTEGER NOT NULL REFERENCES actions(id),
        seq INTEGER NOT NULL,
        op TEXT NOT NULL,                   -- 'move' | 'write'
        src TEXT,                           -- move: from; write: the file written
        dst TEXT,                           -- move: to; write: where the old content was kept
        state TEXT NOT NULL DEFAULT 'pending'  -- 'pending' | 'done' | 'undone'
    );
    CREATE INDEX journal_action ON journal(action_id, seq);
    """,
]
