import type pg from 'pg'
import { SinopiaError } from '../../errors.js'
import { advisoryKey } from './advisory.js'

/**
 * The database layout, one migration per version: migration i takes a database at version i to
 * i + 1. The server applies what is missing on open (under an advisory lock, so instances that
 * start together migrate once) and refuses a database newer than it knows. This list is the
 * one place the layout is described; a change is a new entry, never an edit of an old one.
 *
 * Ordering is byte order (COLLATE "C"), the same as a JavaScript sort of the names and keys.
 */
const MIGRATIONS: readonly string[] = [
  `
  -- Per-package documents: kind 'upstream' (the cached uplink packument, records.ts encoding),
  -- 'fetched' (when the uplink last answered), 'local' (what was published here). stamp comes
  -- from one sequence, so it changes on every write of any document, even with the same bytes.
  CREATE SEQUENCE sinopia_stamps;
  CREATE TABLE sinopia_documents (
    name text COLLATE "C" NOT NULL,
    kind text NOT NULL CHECK (kind IN ('upstream', 'fetched', 'local')),
    body bytea NOT NULL,
    stamp bigint NOT NULL DEFAULT nextval('sinopia_stamps'),
    mtime_ms double precision NOT NULL,
    PRIMARY KEY (name, kind)
  );
  -- Tarballs: content by sha512 integrity, its bytes in 1 MiB chunks (STORAGE EXTERNAL: they
  -- are gzip already, compressing them again only costs CPU), and the keys served from it.
  CREATE SEQUENCE sinopia_content_ids;
  CREATE TABLE sinopia_blob_content (
    integrity text COLLATE "C" PRIMARY KEY,
    id bigint NOT NULL UNIQUE,
    size bigint NOT NULL,
    stored_ms double precision NOT NULL
  );
  CREATE TABLE sinopia_blob_chunks (
    content_id bigint NOT NULL,
    seq integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (content_id, seq)
  );
  ALTER TABLE sinopia_blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
  CREATE TABLE sinopia_blob_entries (
    key text COLLATE "C" PRIMARY KEY,
    integrity text COLLATE "C" NOT NULL,
    size bigint NOT NULL,
    time_ms double precision NOT NULL
  );
  CREATE INDEX ON sinopia_blob_entries (integrity);
  -- Login and API tokens (hashes only); version bumps on every change, so readers cache the list.
  -- json, not jsonb: a record reads back as it was written, keys in their order.
  CREATE TABLE sinopia_tokens (key text PRIMARY KEY, record json NOT NULL);
  CREATE TABLE sinopia_versions (name text PRIMARY KEY, version bigint NOT NULL);
  INSERT INTO sinopia_versions VALUES ('tokens', 0);
  CREATE TABLE sinopia_usage (key text COLLATE "C" PRIMARY KEY, last_use_ms double precision NOT NULL);
  -- What was moved aside: a document's bytes, or a blob's content row (its chunks stay, by content_id).
  CREATE TABLE sinopia_quarantine (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    name text NOT NULL,
    body bytea,
    content_id bigint,
    size bigint,
    moved_ms double precision NOT NULL
  );
  -- probe() writes here in a transaction it rolls back: the write is the check.
  CREATE TABLE sinopia_probe (at timestamptz NOT NULL);
  `,
  `
  -- Users and their password hashes, when the config keeps them here (auth.store). The primary
  -- key makes two instances adding one name at once give exactly one user; version 'users'
  -- bumps on every change, so readers cache the list as they do the tokens.
  CREATE TABLE sinopia_users (name text COLLATE "C" PRIMARY KEY, hash text NOT NULL, created_ms double precision NOT NULL);
  INSERT INTO sinopia_versions VALUES ('users', 0);
  `,
  `
  -- The change feed (changes.ts): per package, the id of the last transaction that wrote or
  -- removed one of its served documents (upstream, local), set by a trigger so that no write
  -- path can forget it. One row per package, so it grows with the store, not with its history.
  CREATE TABLE sinopia_package_changes (name text COLLATE "C" PRIMARY KEY, xid xid8 NOT NULL);
  CREATE INDEX ON sinopia_package_changes (xid);
  CREATE FUNCTION sinopia_note_change() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    changed sinopia_documents%ROWTYPE;
  BEGIN
    IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
    IF changed.kind IN ('upstream', 'local') THEN
      INSERT INTO sinopia_package_changes (name, xid) VALUES (changed.name, pg_current_xact_id())
      ON CONFLICT (name) DO UPDATE SET xid = excluded.xid;
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER sinopia_note_change AFTER INSERT OR UPDATE OR DELETE ON sinopia_documents
    FOR EACH ROW EXECUTE FUNCTION sinopia_note_change();
  -- Derived data a reader keeps to start quickly (the search index's summaries): rebuilt when lost.
  CREATE TABLE sinopia_snapshots (name text PRIMARY KEY, body bytea NOT NULL);
  `,
]

export const SCHEMA_VERSION = MIGRATIONS.length

/**
 * Brings the database to SCHEMA_VERSION. A database at a newer version (written by a newer
 * sinopia-cli) is refused with ESCHEMA: this code could misread what it does not know.
 */
export async function migrate(client: pg.ClientBase, where: string): Promise<void> {
  await client.query('SELECT pg_advisory_lock($1)', [advisoryKey('schema')])
  try {
    // Looked up before anything is created: a database at the current version opens with no DDL at all.
    const { rows: found } = await client.query<{ found: boolean }>("SELECT to_regclass('sinopia_schema') IS NOT NULL AS found")
    if (!found[0]?.found) {
      await client.query('CREATE TABLE IF NOT EXISTS sinopia_schema (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), version integer NOT NULL)')
    }
    const { rows } = await client.query<{ version: number }>('SELECT version FROM sinopia_schema')
    const current = rows[0]?.version ?? 0
    if (current > SCHEMA_VERSION) {
      throw new SinopiaError('ESCHEMA', `the database ${where} has schema version ${current}; this sinopia-cli knows versions up to ${SCHEMA_VERSION}`, {
        hint: 'run the sinopia-cli version that wrote it (or a newer one), or point `storage` at another database',
      })
    }
    for (let version = current; version < SCHEMA_VERSION; version++) {
      await client.query('BEGIN')
      try {
        await client.query(MIGRATIONS[version] as string)
        await client.query('INSERT INTO sinopia_schema (version) VALUES ($1) ON CONFLICT (only_row) DO UPDATE SET version = excluded.version', [version + 1])
        await client.query('COMMIT')
      } catch (error) {
        await client.query('ROLLBACK')
        throw error
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [advisoryKey('schema')])
  }
}
