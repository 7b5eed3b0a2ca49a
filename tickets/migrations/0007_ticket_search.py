"""Full-text search vectors on tickets, kept current by PostgreSQL triggers (``tickets.search``).

Two database-only columns on ``tickets_ticket``: ``search_public`` (subject A, description B, public
replies C) and ``search_internal`` (internal notes, staff only). They are not model fields on
purpose: Django never loads them with a ticket and never writes a stale copy back in ``save()``.

Triggers rather than the services keep them current, because text also changes outside the
services (the admin, bulk INSERTs, fixes in SQL): the ticket's own trigger computes the vectors on
insert and recomputes ``search_public`` when the subject or description changes; statement-level
triggers on comments (transition tables: a multi-row statement refreshes each ticket once) refresh
the vector (public or internal) of the tickets whose comments were inserted, edited or deleted.
``tickets.search.rebuild`` recomputes every vector after an import that bypassed the triggers.

The vectors' formula lives here once, in SQL functions shared by the triggers and the rebuild. Each
part is capped at 100,000 characters so that no ticket can reach tsvector's 1 MB limit (which would
make adding a comment fail). SQLite keeps its substring search: nothing here runs there.
"""

from django.db import migrations

CAP = 100_000

INSTALL = [
    "ALTER TABLE tickets_ticket ADD COLUMN search_public tsvector, ADD COLUMN search_internal tsvector",
    f"""
    CREATE FUNCTION tickets_search_public(subject text, description text, replies text)
    RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT setweight(to_tsvector('english'::regconfig, left(coalesce(subject, ''), {CAP})), 'A')
          || setweight(to_tsvector('english'::regconfig, left(coalesce(description, ''), {CAP})), 'B')
          || setweight(to_tsvector('english'::regconfig, left(coalesce(replies, ''), {CAP})), 'C')
    $$
    """,
    f"""
    CREATE FUNCTION tickets_search_internal(notes text)
    RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT setweight(to_tsvector('english'::regconfig, left(coalesce(notes, ''), {CAP})), 'C')
    $$
    """,
    # One ticket's public replies (internal = false) or internal notes (internal = true), in order.
    f"""
    CREATE FUNCTION tickets_search_comments(ticket bigint, internal boolean)
    RETURNS text LANGUAGE sql STABLE AS $$
      SELECT left(string_agg(body, ' ' ORDER BY created_at, id), {CAP})
        FROM tickets_ticketcomment WHERE ticket_id = ticket AND is_internal = internal
    $$
    """,
    """
    CREATE FUNCTION tickets_ticket_search() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' OR NEW.subject IS DISTINCT FROM OLD.subject
         OR NEW.description IS DISTINCT FROM OLD.description THEN
        NEW.search_public := tickets_search_public(
          NEW.subject, NEW.description, tickets_search_comments(NEW.id, false));
      END IF;
      IF TG_OP = 'INSERT' THEN
        NEW.search_internal := tickets_search_internal(tickets_search_comments(NEW.id, true));
      END IF;
      RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER tickets_ticket_search BEFORE INSERT OR UPDATE OF subject, description
    ON tickets_ticket FOR EACH ROW EXECUTE FUNCTION tickets_ticket_search()
    """,
    # Refresh the given tickets: the public vector where a reply changed, the internal one where a
    # note changed. (Updating only the vector columns does not fire the ticket's trigger.)
    """
    CREATE FUNCTION tickets_search_refresh(ticket_ids bigint[], internals boolean[])
    RETURNS void LANGUAGE sql AS $$
      UPDATE tickets_ticket t SET
        search_public = CASE WHEN c.public THEN tickets_search_public(
            t.subject, t.description, tickets_search_comments(t.id, false)) ELSE t.search_public END,
        search_internal = CASE WHEN c.internal THEN tickets_search_internal(
            tickets_search_comments(t.id, true)) ELSE t.search_internal END
      FROM (SELECT id, bool_or(NOT internal) AS public, bool_or(internal) AS internal
              FROM unnest(ticket_ids, internals) AS u(id, internal) GROUP BY id) c
      WHERE t.id = c.id
    $$
    """,
    """
    CREATE FUNCTION tickets_comment_search() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      ids bigint[];
      internals boolean[];
    BEGIN
      IF TG_OP = 'INSERT' THEN
        SELECT array_agg(ticket_id), array_agg(is_internal) INTO ids, internals FROM new_rows;
      ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(ticket_id), array_agg(is_internal) INTO ids, internals FROM (
          SELECT ticket_id, is_internal FROM new_rows
          UNION ALL SELECT ticket_id, is_internal FROM old_rows) r;
      ELSE
        SELECT array_agg(ticket_id), array_agg(is_internal) INTO ids, internals FROM old_rows;
      END IF;
      IF ids IS NOT NULL THEN
        PERFORM tickets_search_refresh(ids, internals);
      END IF;
      RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER tickets_comment_search_insert AFTER INSERT ON tickets_ticketcomment
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tickets_comment_search()
    """,
    """
    CREATE TRIGGER tickets_comment_search_update AFTER UPDATE ON tickets_ticketcomment
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_comment_search()
    """,
    """
    CREATE TRIGGER tickets_comment_search_delete AFTER DELETE ON tickets_ticketcomment
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tickets_comment_search()
    """,
]

# Vectors for the tickets that exist already (updating only the vectors fires no trigger).
FILL = """
    UPDATE tickets_ticket t
       SET search_public = tickets_search_public(t.subject, t.description, c.replies),
           search_internal = tickets_search_internal(c.notes)
      FROM tickets_ticket s LEFT JOIN (
             SELECT ticket_id,
                    string_agg(body, ' ' ORDER BY created_at, id) FILTER (WHERE NOT is_internal) AS replies,
                    string_agg(body, ' ' ORDER BY created_at, id) FILTER (WHERE is_internal) AS notes
               FROM tickets_ticketcomment GROUP BY ticket_id) c ON c.ticket_id = s.id
     WHERE t.id = s.id
"""

# Created after the fill: building a GIN index once is much faster than growing it row by row.
INDEXES = [
    "CREATE INDEX tickets_ticket_search_public ON tickets_ticket USING gin (search_public)",
    "CREATE INDEX tickets_ticket_search_internal ON tickets_ticket USING gin (search_internal)",
]

DROP = [
    "DROP TRIGGER IF EXISTS tickets_comment_search_insert ON tickets_ticketcomment",
    "DROP TRIGGER IF EXISTS tickets_comment_search_update ON tickets_ticketcomment",
    "DROP TRIGGER IF EXISTS tickets_comment_search_delete ON tickets_ticketcomment",
    "DROP TRIGGER IF EXISTS tickets_ticket_search ON tickets_ticket",
    "DROP FUNCTION IF EXISTS tickets_comment_search()",
    "DROP FUNCTION IF EXISTS tickets_search_refresh(bigint[], boolean[])",
    "DROP FUNCTION IF EXISTS tickets_ticket_search()",
    "DROP FUNCTION IF EXISTS tickets_search_comments(bigint, boolean)",
    "DROP FUNCTION IF EXISTS tickets_search_internal(text)",
    "DROP FUNCTION IF EXISTS tickets_search_public(text, text, text)",
    "ALTER TABLE tickets_ticket DROP COLUMN IF EXISTS search_public, DROP COLUMN IF EXISTS search_internal",
]


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # No comment may be written between the fill and the triggers' creation: it would be missed.
    schema_editor.execute("LOCK TABLE tickets_ticket, tickets_ticketcomment IN SHARE ROW EXCLUSIVE MODE")
    for statement in [*INSTALL, FILL, *INDEXES]:
        schema_editor.execute(statement)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in DROP:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0006_desk_indexes_and_counts")]

    operations = [migrations.RunPython(install, uninstall)]
