"""The library's PostgreSQL application recorder, with events inserted in one round trip.

The library's default insert runs five statements in a pipelined transaction (lock timeout,
table lock, NOTIFY, INSERT, COMMIT): about four round trips. Its optional database-function
path needs one round trip but leaves out the table lock, and the lock is what keeps
notification ids committing in order, so that a projection reading up to id N never passes
a gap that a slower transaction fills later. This recorder installs its own function that
does all of it (lock, notify, insert) and calls it in one statement."""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier


class OneTripPostgresApplicationRecorder(PostgresApplicationRecorder):
    """Selected with APPLICATION_RECORDER_TOPIC (and POSTGRES_ENABLE_DB_FUNCTIONS=y) by
    adapters.settings; reads are the library's."""

    function_name = "consentry_insert_events"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = {
            "schema": Identifier(self.datastore.schema),
            "function": Identifier(self.function_name),
            "event": Identifier(self.stored_event_type_name),
            "table": Identifier(self.events_table_name),
            "channel": Identifier(self.channel_name),
            "timeout": SQL(str(int(self.datastore.lock_timeout))),
        }
        self.pg_function_name_insert_events = self.function_name
        self.sql_invoke_pg_function_insert_events = SQL(
            "SELECT * FROM {schema}.{function}((%s))").format(**names)
        self.sql_create_pg_function_insert_events = SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}(events {schema}.{event}[]) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ BEGIN "
            "SET LOCAL lock_timeout = '{timeout}s'; "
            "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
            "NOTIFY {channel}; "
            "RETURN QUERY INSERT INTO {schema}.{table} AS t "
            "(originator_id, originator_version, topic, state) "
            "SELECT originator_id, originator_version, topic, state FROM unnest(events) "
            "RETURNING notification_id; "
            "END; $BODY$").format(**names)
        self.sql_create_statements[self.create_insert_function_statement_index] = \
            self.sql_create_pg_function_insert_events
