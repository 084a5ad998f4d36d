"""The run store: one SQLite file (WAL) holding profiles, recommendations, runs, trials, verdicts and reports.

The app, its worker processes and the command-line tools all write here. Each connection is
short-lived and every write is one transaction, so a crash never leaves half a trial. The
schema is versioned; ``MIGRATIONS[i]`` takes version i to i + 1.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from advisor.jsonfile import JSONFileError, JSONSpec, parse_json
from bench.errors import BenchInputError
from bench.vocabulary import RunStatus

MIGRATIONS: tuple[str, ...] = (
    # v1: the first schema.
    """
    CREATE TABLE profiles (id TEXT PRIMARY KEY, created TEXT NOT NULL, answers TEXT NOT NULL);
    CREATE TABLE recommendations (
        id TEXT PRIMARY KEY, profile_id TEXT NOT NULL REFERENCES profiles(id), created TEXT NOT NULL, body TEXT NOT NULL
    );
    CREATE TABLE runs (
        id TEXT PRIMARY KEY, created TEXT NOT NULL, kind TEXT NOT NULL, config TEXT NOT NULL,
        profile_id TEXT REFERENCES profiles(id), status TEXT NOT NULL, pid INTEGER, progress TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0, error TEXT, finished TEXT
    );
    CREATE TABLE trials (
        run_id TEXT NOT NULL REFERENCES runs(id), trial_id TEXT NOT NULL, created TEXT NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (run_id, trial_id)
    );
    CREATE TABLE verdicts (run_id TEXT PRIMARY KEY REFERENCES runs(id), created TEXT NOT NULL, body TEXT NOT NULL);
    """,
    # v2: runs belong to a session (two browser sessions do not see each other's runs) and
    # keep analyses (curve, transferability); reports are stored when exported.
    """
    ALTER TABLE runs ADD COLUMN session TEXT NOT NULL DEFAULT '';
    ALTER TABLE runs ADD COLUMN analyses TEXT NOT NULL DEFAULT '{}';
    CREATE TABLE reports (
        id TEXT PRIMARY KEY, run_id TEXT REFERENCES runs(id), created TEXT NOT NULL, format TEXT NOT NULL,
        content TEXT NOT NULL
    );
    CREATE INDEX runs_by_session ON runs(session, created);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
ACTIVE = tuple(status for status in RunStatus if status.active)
# Every JSON column is read back through one bounded parser: a damaged row is an error naming it.
STORED_JSON = JSONSpec("run store", max_bytes=256 << 20, max_depth=32)
MOVE_IT = "move the file away (or set FOS_HOME to another folder) and the next run starts a new store"


def default_db_path() -> Path:
    """``$FOS_HOME/runs.db``, else ``$XDG_DATA_HOME/finetune-or-scratch/runs.db`` (``~/.local/share``)."""
    if os.environ.get("FOS_HOME"):
        root = Path(os.environ["FOS_HOME"])
    else:
        root = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "finetune-or-scratch"
    return root / "runs.db"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class RunRecord:
    id: str
    created: str
    kind: str  # run | curve
    config: dict[str, Any]
    profile_id: str | None
    status: str  # a RunStatus value (compared with its members)
    pid: int | None
    progress: dict[str, Any]
    cancel_requested: bool
    error: str | None
    finished: str | None
    session: str
    analyses: dict[str, Any]

    def describe(self) -> dict[str, Any]:
        """What a report says about the run."""
        keys = ("id", "kind", "status", "config", "created", "finished")
        return {key: getattr(self, key) for key in keys}


class StoreError(BenchInputError):
    """The run store cannot be used (unwritable folder, a file that is not a store, a newer schema)."""


class RunStore:
    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path else default_db_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                current = db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
                if not current or db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    # Creating or migrating: one process at a time (switching to WAL does not wait
                    # for a busy database, so the transaction alone is not enough).
                    with _setup_lock(self.path):
                        db.execute("PRAGMA journal_mode=WAL")
                        migrate(db)
                check_schema(db, self.path)
        except OSError as error:
            raise StoreError(
                f"run store {self.path}: cannot be opened ({error.strerror or error}); set FOS_HOME to a writable folder"
            ) from None

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # Every SQLite failure (a damaged page, a missing table, text that is not UTF-8, a file that
        # is not a database) becomes one StoreError naming the store file: never a traceback.
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as error:
            raise StoreError(
                f"run store {self.path}: cannot be opened ({error}); set FOS_HOME to a writable folder"
            ) from None
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute("PRAGMA foreign_keys = ON")
            yield db
        except sqlite3.OperationalError as error:
            if any(words in str(error) for words in ("unable to open", "readonly", "read-only", "disk I/O")):
                raise StoreError(
                    f"run store {self.path}: cannot be opened ({error}); set FOS_HOME to a writable folder"
                ) from None
            if "locked" in str(error) or "busy" in str(error):
                raise StoreError(
                    f"run store {self.path}: busy for over 30 s ({error}); another process holds it: try again"
                ) from None
            raise StoreError(f"run store {self.path}: damaged or not a run store ({error}); {MOVE_IT}") from None
        except sqlite3.Error as error:
            raise StoreError(f"run store {self.path}: damaged or not a run store ({error}); {MOVE_IT}") from None
        finally:
            db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _json(self, text: str | None, table: str, column: str, key: str, default: str | None = None) -> Any:
        """A stored JSON column, parsed with bounds; it must hold an object. Errors name the file and row."""
        where = f"{self.path}, table {table}, row {key}, column {column}"
        if text is None and default is not None:
            text = default
        try:
            if not isinstance(text, str):
                raise JSONFileError(f"run store {where}: expected JSON text; got {type(text).__name__}")
            value = parse_json(text, STORED_JSON, where)
        except JSONFileError as error:
            raise StoreError(f"{error}; {MOVE_IT}") from None
        if not isinstance(value, dict):
            raise StoreError(f"run store {where}: expected a JSON object; got {type(value).__name__}; {MOVE_IT}")
        return value

    # ---- profiles and recommendations -----------------------------------------------------------

    def save_profile(self, answers: dict[str, Any], recommendation: dict[str, Any] | None = None) -> str:
        profile_id = new_id()
        with self._write() as db:
            db.execute("INSERT INTO profiles VALUES (?, ?, ?)", (profile_id, _now(), json.dumps(answers)))
            if recommendation is not None:
                db.execute(
                    "INSERT INTO recommendations VALUES (?, ?, ?, ?)",
                    (new_id(), profile_id, _now(), json.dumps(recommendation)),
                )
        return profile_id

    def save_recommendation(self, profile_id: str, recommendation: dict[str, Any]) -> None:
        """A newer recommendation for a stored profile (a check's measured costs): the one read from now on."""
        with self._write() as db:
            db.execute("INSERT INTO recommendations VALUES (?, ?, ?, ?)",
                       (new_id(), profile_id, _now(), json.dumps(recommendation)))  # fmt: skip

    def profile(self, profile_id: str) -> dict[str, Any] | None:
        with self._connect() as db:
            row = db.execute("SELECT answers FROM profiles WHERE id = ?", (profile_id,)).fetchone()
        return self._json(row["answers"], "profiles", "answers", profile_id) if row else None

    def recommendation(self, profile_id: str) -> dict[str, Any] | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT id, body FROM recommendations WHERE profile_id = ? ORDER BY created DESC, rowid DESC LIMIT 1",
                (profile_id,),
            ).fetchone()
        return self._json(row["body"], "recommendations", "body", row["id"]) if row else None

    def profiles(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM profiles ORDER BY created DESC LIMIT ?", (limit,)).fetchall()
        return [
            {
                "id": r["id"],
                "created": r["created"],
                "answers": self._json(r["answers"], "profiles", "answers", r["id"]),
            }
            for r in rows
        ]

    # ---- runs -----------------------------------------------------------------------------------

    def create_run(
        self, kind: str, config: dict[str, Any], session: str, profile_id: str | None = None, owner: int | None = None
    ) -> str:
        """Store a queued run with its owner, in one transaction: the process that created it (``owner``,
        default this one) until its worker registers its own pid. A sweep for dead workers in another
        process or tab never sees a run without an owner, so a run starting up is never judged dead."""
        run_id = new_id()
        with self._write() as db:
            db.execute(
                "INSERT INTO runs (id, created, kind, config, profile_id, status, progress, session, pid) "
                "VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?)",
                (run_id, _now(), kind, json.dumps(config), profile_id, RunStatus.QUEUED, session,
                 os.getpid() if owner is None else owner),
            )  # fmt: skip
        return run_id

    def run(self, run_id: str) -> RunRecord | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return self._run_from_row(row) if row else None

    def runs(self, session: str | None = None, limit: int = 100) -> list[RunRecord]:
        query, args = "SELECT * FROM runs", []
        if session is not None:
            query, args = query + " WHERE session = ?", [session]
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY created DESC LIMIT ?", (*args, limit)).fetchall()
        return [self._run_from_row(r) for r in rows]

    def set_status(self, run_id: str, status: str, error: str | None = None, pid: int | None = None) -> None:
        finished = _now() if status not in ACTIVE else None
        with self._write() as db:
            db.execute(
                "UPDATE runs SET status = ?, error = COALESCE(?, error), pid = COALESCE(?, pid), "
                "finished = COALESCE(?, finished) WHERE id = ?",
                (status, error, pid, finished, run_id),
            )

    def set_worker(self, run_id: str, pid: int) -> None:
        """Name the worker process that owns a run, status unchanged (it stays queued until the worker holds
        the device); a run that already ended, cancelled before its worker was named, is left as it is."""
        with self._write() as db:
            db.execute("UPDATE runs SET pid = ? WHERE id = ? AND status IN (?, ?)", (pid, run_id, *ACTIVE))

    def set_progress(self, run_id: str, progress: dict[str, Any]) -> None:
        with self._write() as db:
            db.execute("UPDATE runs SET progress = ? WHERE id = ?", (json.dumps(progress), run_id))

    def request_cancel(self, run_id: str) -> None:
        with self._write() as db:
            db.execute("UPDATE runs SET cancel_requested = 1 WHERE id = ?", (run_id,))

    def cancel_requested(self, run_id: str) -> bool:
        with self._connect() as db:
            row = db.execute("SELECT cancel_requested FROM runs WHERE id = ?", (run_id,)).fetchone()
        return bool(row and row["cancel_requested"])

    def add_analysis(self, run_id: str, name: str, value: Any) -> None:
        with self._write() as db:
            row = db.execute("SELECT analyses FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise StoreError(f"run {run_id}: not in the run store {self.path}")
            analyses = {**self._json(row["analyses"], "runs", "analyses", run_id, "{}"), name: value}
            db.execute("UPDATE runs SET analyses = ? WHERE id = ?", (json.dumps(analyses), run_id))

    def mark_interrupted(self, is_alive=None) -> list[str]:
        """Mark active runs whose worker process is gone as interrupted; their finished trials stay."""
        is_alive = is_alive or _pid_alive
        suspects = [r for r in self.runs() if r.status in ACTIVE and (r.pid is None or not is_alive(r.pid))]
        marked = []
        for record in suspects:
            # Only if nothing changed since it was judged: a worker that registered (a new pid) or a run that
            # ended in between is not overwritten, so a finished run never carries this message.
            with self._write() as db:
                changed = db.execute(
                    "UPDATE runs SET status = ?, error = ?, finished = ? "
                    "WHERE id = ? AND status IN (?, ?) AND pid IS ?",
                    (RunStatus.INTERRUPTED, "the worker stopped (crash or restart); finished trials kept", _now(),
                     record.id, *ACTIVE, record.pid),
                ).rowcount  # fmt: skip
            if changed:
                marked.append(record.id)
        return marked

    # ---- trials, verdicts, reports --------------------------------------------------------------

    def add_trial(self, run_id: str, trial: dict[str, Any]) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO trials VALUES (?, ?, ?, ?)",
                (run_id, trial["trial_id"], _now(), json.dumps(trial)),
            )

    def trials(self, run_id: str) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT trial_id, body FROM trials WHERE run_id = ? ORDER BY created, rowid", (run_id,)
            ).fetchall()
        return [self._json(r["body"], "trials", "body", f"{run_id}/{r['trial_id']}") for r in rows]

    def delete_run(self, run_id: str) -> None:
        """Remove a finished run with its trials, verdict and reports; an active run must be cancelled first."""
        record = self.run(run_id)
        if record is None:
            raise StoreError(f"run {run_id}: not in the run store {self.path}")
        if record.status in ACTIVE:
            raise StoreError(f"run {run_id} is {record.status}: cancel it before deleting it")
        with self._write() as db:
            for table in ("trials", "verdicts", "reports"):
                db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    def set_verdict(self, run_id: str, verdict: dict[str, Any]) -> None:
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?)", (run_id, _now(), json.dumps(verdict)))

    def verdict(self, run_id: str) -> dict[str, Any] | None:
        with self._connect() as db:
            row = db.execute("SELECT body FROM verdicts WHERE run_id = ?", (run_id,)).fetchone()
        return self._json(row["body"], "verdicts", "body", run_id) if row else None

    def save_report(self, run_id: str | None, fmt: str, content: str) -> str:
        report_id = new_id()
        with self._write() as db:
            db.execute("INSERT INTO reports VALUES (?, ?, ?, ?, ?)", (report_id, run_id, _now(), fmt, content))
        return report_id

    def _run_from_row(self, row: sqlite3.Row) -> RunRecord:
        return RunRecord(
            id=row["id"],
            created=row["created"],
            kind=row["kind"],
            config=self._json(row["config"], "runs", "config", row["id"]),
            profile_id=row["profile_id"],
            status=row["status"],
            pid=row["pid"],
            progress=self._json(row["progress"] or "{}", "runs", "progress", row["id"]),
            cancel_requested=bool(row["cancel_requested"]),
            error=row["error"],
            finished=row["finished"],
            session=row["session"],
            analyses=self._json(row["analyses"] or "{}", "runs", "analyses", row["id"]),
        )


def migrate(db: sqlite3.Connection) -> int:
    """Bring the database to SCHEMA_VERSION; returns the version it started at.

    Serialised: the version is read and every migration applied inside one ``BEGIN IMMEDIATE``
    transaction, so of any number of processes opening a new store at once, the first creates
    the tables and the others wait for it, then find the schema current.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        start = db.execute("PRAGMA user_version").fetchone()[0]
        if start > SCHEMA_VERSION:
            raise StoreError(
                f"run store schema v{start} is newer than this program's v{SCHEMA_VERSION}: upgrade "
                "finetune-or-scratch, or set FOS_HOME to another folder"
            )
        for version in range(start, SCHEMA_VERSION):
            for statement in _statements(MIGRATIONS[version]):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {version + 1}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return start


@contextmanager
def _setup_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``<store>.lock`` while a store is created or migrated (POSIX flock)."""
    try:
        import fcntl
    except ImportError:  # Windows: the BEGIN IMMEDIATE in migrate() is what serialises
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _statements(script: str) -> list[str]:
    # executescript would commit the open transaction first; the migrations hold no ';' in literals.
    return [part.strip() for part in script.split(";") if part.strip()]


@functools.cache
def expected_schema() -> dict[str, frozenset[str]]:
    """The tables and columns the migrations create, read from a scratch in-memory database."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(db)
        return _schema(db)
    finally:
        db.close()


def _schema(db: sqlite3.Connection) -> dict[str, frozenset[str]]:
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {table: frozenset(row[1] for row in db.execute(f'PRAGMA table_info("{table}")')) for table in tables}


def check_schema(db: sqlite3.Connection, path: Path) -> None:
    """Refuse a store whose version is current but whose tables or columns are missing (a damaged file)."""
    found = _schema(db)
    for table, columns in expected_schema().items():
        if table not in found:
            raise StoreError(f"run store {path}: schema v{SCHEMA_VERSION}, but table {table} is missing; {MOVE_IT}")
        missing = sorted(columns - found[table])
        if missing:
            raise StoreError(
                f"run store {path}: table {table} lacks column {', '.join(missing)}; the file is damaged; {MOVE_IT}"
            )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) still answers kill(0); /proc says otherwise.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True
