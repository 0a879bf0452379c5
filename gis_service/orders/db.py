"""Database engine, sessions and Alembic migrations (SQLite in the instance folder or PostgreSQL)."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any fixed number: all processes that start at once take this lock before migrating.
_PG_MIGRATION_LOCK = 804_201


def utcnow() -> datetime:
    """Naive UTC: both databases store it unchanged, so comparisons never mix zones."""
    return datetime.now(UTC).replace(tzinfo=None)


def database_url(configured: str | None, instance_path: str | Path) -> str:
    url = configured or os.environ.get("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'orders.sqlite3'}"
    # Heroku-style and plain URLs name no driver; psycopg 3 is the one installed.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str) -> Engine:
    # hide_parameters: bound values are citizens' names and addresses; neither SQL logging nor a
    # database error's message (which ends up in log.exception) may carry them.
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):
            # The driver's own transaction handling is off so that every transaction can start
            # with BEGIN IMMEDIATE: a read followed by a write then never fails with "locked".
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")  # a paid order must survive a power cut too
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # A database that does not answer must fail a request (and /readyz) in seconds, not hang it.
    connect_args = {"connect_timeout": 5} if make_url(url).get_backend_name() == "postgresql" else {}
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, connect_args=connect_args,
                         hide_parameters=True)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(connection=None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`; safe when several processes start at the same time."""
    from alembic import command

    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    with _sqlite_file_lock(engine):
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            command.upgrade(alembic_config(connection), revision)


@contextmanager
def _sqlite_file_lock(engine: Engine):
    """Several workers creating one new SQLite file race while it turns to WAL mode, which SQLite
    answers with "locked" instead of waiting; a lock file beside the database puts them in a row."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    import fcntl

    with open(f"{database}.migrate-lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def head_revision() -> str:
    """The newest migration this code knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def transaction(factory: sessionmaker[Session]):
    """One short transaction; never hold it across network calls or rendering."""
    with factory() as session, session.begin():
        yield session


def redacted_url(url: str) -> str:
    """A database URL fit for logs and terminals: the password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
