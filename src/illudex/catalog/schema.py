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
            -- NULL once the file was moved out of every library folder (trash, --move-to):
            -- the row follows its file so that undo restores it with its tags.
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
        sidecar_mtime_ns INTEGER,           -- of the same-name .txt when last read, NULL if none
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

    -- Near-duplicate relations of the last runs, keyed by a fingerprint of their input
    -- (engine version, threshold, the pictures' digests): an unchanged folder answers at once.
    CREATE TABLE dupe_cache (
        fingerprint TEXT PRIMARY KEY,
        relations TEXT NOT NULL,            -- JSON list of relations
        at REAL NOT NULL
    );

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
    # 2: tag vocabulary and search (tags/, search/) — per-tag image counts and a change
    # generation kept by triggers; versions of the vocabulary and of the image set (so that
    # cached lookup indexes and posting lists know when to rebuild); a posting-list cache
    # for fast tag intersection; reverse indexes; undoable tag edits.
    """
    ALTER TABLE tags ADD COLUMN image_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tags ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
    UPDATE tags SET image_count =
        (SELECT COUNT(DISTINCT image_id) FROM image_tags WHERE tag_id = tags.id);

    -- Distinct images per tag: an image may hold a tag from several sources. BEFORE INSERT
    -- (not AFTER) so that INSERT OR REPLACE, whose implicit delete fires no trigger,
    -- still counts right: a replaced row had the same (image, tag) pair.
    CREATE TRIGGER image_tags_count_insert BEFORE INSERT ON image_tags
    WHEN NOT EXISTS (SELECT 1 FROM image_tags
                     WHERE image_id = NEW.image_id AND tag_id = NEW.tag_id)
    BEGIN
        UPDATE tags SET image_count = image_count + 1, generation = generation + 1
        WHERE id = NEW.tag_id;
        UPDATE search_state SET tagging_version = tagging_version + 1;
    END;
    CREATE TRIGGER image_tags_count_delete AFTER DELETE ON image_tags
    WHEN NOT EXISTS (SELECT 1 FROM image_tags
                     WHERE image_id = OLD.image_id AND tag_id = OLD.tag_id)
    BEGIN
        UPDATE tags SET image_count = image_count - 1, generation = generation + 1
        WHERE id = OLD.tag_id;
        UPDATE search_state SET tagging_version = tagging_version + 1;
    END;
    CREATE TRIGGER image_tags_count_update_new BEFORE UPDATE OF image_id, tag_id ON image_tags
    WHEN NOT EXISTS (SELECT 1 FROM image_tags
                     WHERE image_id = NEW.image_id AND tag_id = NEW.tag_id)
    BEGIN
        UPDATE tags SET image_count = image_count + 1, generation = generation + 1
        WHERE id = NEW.tag_id;
        UPDATE search_state SET tagging_version = tagging_version + 1;
    END;
    CREATE TRIGGER image_tags_count_update_old AFTER UPDATE OF image_id, tag_id ON image_tags
    WHEN NOT EXISTS (SELECT 1 FROM image_tags
                     WHERE image_id = OLD.image_id AND tag_id = OLD.tag_id)
    BEGIN
        UPDATE tags SET image_count = image_count - 1, generation = generation + 1
        WHERE id = OLD.tag_id;
        UPDATE search_state SET tagging_version = tagging_version + 1;
    END;

    CREATE TABLE search_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        vocab_version INTEGER NOT NULL,     -- tags, aliases, translations, implications
        images_version INTEGER NOT NULL,    -- images added, removed, or their sizes changed
        tagging_version INTEGER NOT NULL    -- an image gained or lost a tag
    );
    INSERT INTO search_state (id, vocab_version, images_version, tagging_version)
    VALUES (1, 0, 0, 0);
    CREATE TRIGGER images_version_insert AFTER INSERT ON images
    BEGIN UPDATE search_state SET images_version = images_version + 1; END;
    CREATE TRIGGER images_version_delete AFTER DELETE ON images
    BEGIN UPDATE search_state SET images_version = images_version + 1; END;
    CREATE TRIGGER images_version_update
    AFTER UPDATE OF width, height, size, format, animated, has_alpha, added_at, folder_id ON images
    BEGIN UPDATE search_state SET images_version = images_version + 1; END;
    CREATE TRIGGER tags_vocab_insert AFTER INSERT ON tags
    BEGIN UPDATE search_state SET vocab_version = vocab_version + 1; END;
    CREATE TRIGGER tags_vocab_delete AFTER DELETE ON tags
    BEGIN
        UPDATE search_state SET vocab_version = vocab_version + 1;
        DELETE FROM tag_postings WHERE tag_id = OLD.id;
    END;
    CREATE TRIGGER tags_vocab_update AFTER UPDATE OF name, category ON tags
    BEGIN UPDATE search_state SET vocab_version = vocab_version + 1; END;
    CREATE TRIGGER tag_aliases_vocab_insert AFTER INSERT ON tag_aliases
    BEGIN UPDATE search_state SET vocab_version = vocab_version + 1; END;
    CREATE TRIGGER tag_aliases_vocab_delete AFTER DELETE ON tag_aliases
    BEGIN UPDATE search_state SET vocab_version = vocab_version + 1; END;
    CREATE TRIGGER tag_aliases_vocab_update AFTER UPDATE ON tag_aliases
    BEGIN UPDATE search_state SET vocab_version = vocab_version + 1; END;
    CREATE TRIGGER tag_translations_vocab_insert AFTER INSERT ON tag_translations
    BEGIN UPDATE search_state SET vocab_version = vocab_version + 1; END;
    CREATE TRIGGER tag_translations_vocab_delete AFTER DELETE ON tag_translations
    BEGIN UPDATE search_state SET vocab_version = vocab_version + 1; END;
    CREATE TRIGGER tag_translations_vocab_update AFTER UPDATE ON tag_translations
    BEGIN UPDATE search_state SET vocab_version = vocab_version + 1; END;
    CREATE TRIGGER tag_implications_vocab_insert AFTER INSERT ON tag_implications
    BEGIN UPDATE search_state SET vocab_version = vocab_version + 1; END;
    CREATE TRIGGER tag_implications_vocab_delete AFTER DELETE ON tag_implications
    BEGIN UPDATE search_state SET vocab_version = vocab_version + 1; END;

    -- Cached posting lists: sorted distinct image ids (int64 little-endian) of one tag, as
    -- of tags.generation; tag_id 0 holds every image, as of search_state.images_version.
    -- Rebuilt lazily by search when stale; never the source of truth.
    CREATE TABLE tag_postings (
        tag_id INTEGER PRIMARY KEY,
        generation INTEGER NOT NULL,
        ids BLOB NOT NULL
    );
    -- Cached image columns for metatag filters and sorting (numpy arrays aligned on image
    -- id order), as of search_state.images_version (tags: tagging_version).
    CREATE TABLE image_columns (
        name TEXT PRIMARY KEY,
        generation INTEGER NOT NULL,
        data BLOB NOT NULL
    );

    CREATE INDEX tag_implications_implied ON tag_implications(implied_id, tag_id);
    CREATE INDEX tag_aliases_tag ON tag_aliases(tag_id);

    -- Undoable catalog tag edits: what each edit inserted (+) and deleted (-).
    CREATE TABLE tag_edits (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,                 -- 'add' | 'remove' | 'replace' | 'merge' | ...
        summary TEXT NOT NULL,
        created_at REAL NOT NULL,
        undone_at REAL                      -- NULL while in effect
    );
    CREATE TABLE tag_edit_image_tags (
        edit_id INTEGER NOT NULL REFERENCES tag_edits(id) ON DELETE CASCADE,
        change TEXT NOT NULL,               -- '+' inserted by the edit, '-' deleted by it
        image_id INTEGER NOT NULL,
        tag_id INTEGER NOT NULL,
        source TEXT NOT NULL,
        score REAL,
        PRIMARY KEY (edit_id, change, image_id, tag_id, source)
    ) WITHOUT ROWID;
    CREATE TABLE tag_edit_vocab (
        edit_id INTEGER NOT NULL REFERENCES tag_edits(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        change TEXT NOT NULL,               -- '+' | '-'
        tbl TEXT NOT NULL,                  -- 'tags' | 'tag_aliases' | 'tag_implications' | ...
        row TEXT NOT NULL,                  -- the row as a JSON object
        PRIMARY KEY (edit_id, seq)
    ) WITHOUT ROWID;
    """,
    # 3: a per-model counter of embedding changes, so an unchanged vector index reopens
    # after reading one row instead of scanning every embedding.
    """
CREATE TABLE embedding_generations (
    model TEXT PRIMARY KEY,
    generation INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER embeddings_generation_insert AFTER INSERT ON embeddings BEGIN
    INSERT INTO embedding_generations (model, generation) VALUES (NEW.model, 1)
    ON CONFLICT (model) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER embeddings_generation_update AFTER UPDATE ON embeddings BEGIN
    INSERT INTO embedding_generations (model, generation) VALUES (NEW.model, 1)
    ON CONFLICT (model) DO UPDATE SET generation = generation + 1;
    INSERT INTO embedding_generations (model, generation) VALUES (OLD.model, 1)
    ON CONFLICT (model) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER embeddings_generation_delete AFTER DELETE ON embeddings BEGIN
    INSERT INTO embedding_generations (model, generation) VALUES (OLD.model, 1)
    ON CONFLICT (model) DO UPDATE SET generation = generation + 1;
END;
""",
    # 4: keepers a person chose for a duplicate group, by content (like dupe_decisions):
    # the picture with this digest is the keeper of whatever group holds it. And the
    # finder's verdicts on which copy of each group is the original, cached like the
    # relations (keyed by the groups' digests), so that a re-run loads no numpy.
    """
CREATE TABLE dupe_keepers (
    digest TEXT PRIMARY KEY,
    at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE dupe_keeper_cache (
    fingerprint TEXT PRIMARY KEY,
    relations TEXT NOT NULL,
    at REAL NOT NULL
);
""",
    # 5: what the dataset's model steps found on a picture (faces, heads, people; its
    # class scores), by content like the dupe decisions: a later pipeline reads it instead
    # of running the model, and search filters on it (faces:1, class:illustration).
    """
CREATE TABLE model_results (
    digest TEXT NOT NULL,       -- the picture's content digest (images.digest)
    kind TEXT NOT NULL,         -- 'face' | 'head' | 'person' | 'halfbody' | 'class'
    recipe TEXT NOT NULL,       -- JSON: the model's source and the step's settings
    model TEXT NOT NULL,        -- the model as the step named it
    count INTEGER,              -- detections: boxes found; NULL for classes
    label TEXT,                 -- classes: the best label; NULL for detections
    data TEXT NOT NULL,         -- JSON: {"size": [w, h], "boxes": [...]} or {label: score}
    at REAL NOT NULL,
    PRIMARY KEY (digest, kind, recipe)
) WITHOUT ROWID;
CREATE INDEX model_results_label ON model_results(kind, label);
""",
    # 6: the web server's jobs (scan, tag, embed, dataset builds), kept as they run so a
    # restart shows finished and failed ones with their reasons and resumes interrupted ones.
    # AUTOINCREMENT: an id once shown (a link to a dataset report) never names another job.
    """
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,             -- 'scan' | 'tag' | 'embed' | 'dataset' | 'cluster'
    params TEXT NOT NULL,           -- JSON: what re-submitting the job needs
    state TEXT NOT NULL,            -- queued | running | done | failed | stopped | interrupted
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',   -- one line: the reason of a failure
    detail TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '{}', -- JSON: the counts of the result
    errors TEXT NOT NULL DEFAULT '[]',  -- JSON: the first per-file errors
    error_count INTEGER NOT NULL DEFAULT 0,
    resumable INTEGER NOT NULL DEFAULT 0,  -- interrupted and not yet resumed
    resumed_from INTEGER,           -- the interrupted job this one re-runs
    started REAL NOT NULL,
    finished REAL
);
""",
]
