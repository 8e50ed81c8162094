"""The console's users, its review audit trail and comments, in one SQLite file.

Passwords are hashed with argon2 through ``pwdlib`` (``PasswordHash.recommended()``:
argon2id with the library's parameters); nothing here hashes by hand. Roles are
ordered: ``viewer`` < ``oncall`` < ``seismologist`` < ``admin`` (docs/web.md says what
each may do). Failed sign-ins are counted per key (user name, client address) so a
limit holds across processes and restarts.

Times are epoch seconds (UTC).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seismo.errors import AuthError

ROLES = ("viewer", "oncall", "seismologist", "admin")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
#: Shortest password accepted (design choice; NIST SP 800-63B asks for at least 8).
MIN_PASSWORD = 8

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, user TEXT NOT NULL,
    event_id TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL, outcome TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS actions_event ON actions (event_id, time);
CREATE TABLE IF NOT EXISTS login_failures (key TEXT NOT NULL, time REAL NOT NULL);
CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures (key, time);
"""


def role_rank(role: str) -> int:
    """0 for viewer ... 3 for admin. Raises AuthError for an unknown role."""
    try:
        return ROLES.index(role)
    except ValueError:
        raise AuthError(f"role {role!r} must be one of {', '.join(ROLES)}") from None


@dataclass(frozen=True)
class User:
    name: str
    role: str
    created: float

    def may(self, role: str) -> bool:
        """True when this user's role is ``role`` or above."""
        return role_rank(self.role) >= role_rank(role)


@dataclass(frozen=True)
class Action:
    """One console action on an event: who, when (epoch s), what, and how it went."""

    time: float
    user: str
    event_id: str
    action: str
    detail: str
    outcome: str

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "user": self.user, "event_id": self.event_id,
                "action": self.action, "detail": self.detail, "outcome": self.outcome}


def _hasher() -> Any:
    from pwdlib import PasswordHash

    return PasswordHash.recommended()


class UserStore:
    """Users, actions and sign-in failures in the SQLite file ``path`` (created on use)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._hash = _hasher()
        # verifying against this when the user is unknown takes as long as a real check
        self._dummy = self._hash.hash("not a password of anyone")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._db() as db:
                db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise AuthError(f"user database {self.path}: {exc}") from None

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10.0)
        try:
            with db:
                yield db
        finally:
            db.close()

    # ------------------------------------------------------------------ users
    def add(self, name: str, role: str, password: str, *, replace: bool = False) -> User:
        """Add (or with ``replace``, update) a user. Raises AuthError on a bad name,
        role or password, or an existing name without ``replace``."""
        if not _NAME.match(name):
            raise AuthError(f"user name {name!r}: letters, digits and . _ @ - only "
                            "(1-64 characters, starting with a letter or digit)")
        role_rank(role)
        if len(password) < MIN_PASSWORD:
            raise AuthError(f"password for {name!r} is shorter than {MIN_PASSWORD} characters")
        user = User(name, role, time.time())
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        try:
            with self._db() as db:
                db.execute(f"{verb} INTO users (name, role, hash, created) VALUES (?, ?, ?, ?)",
                           (name, role, self._hash.hash(password), user.created))
        except sqlite3.IntegrityError:
            raise AuthError(f"user {name!r} exists (remove it first, or use --replace)") from None
        return user

    def remove(self, name: str) -> bool:
        """Remove a user; False when there was none of that name."""
        with self._db() as db:
            return db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount > 0

    def users(self) -> list[User]:
        with self._db() as db:
            rows = db.execute("SELECT name, role, created FROM users ORDER BY name").fetchall()
        return [User(*r) for r in rows]

    def get(self, name: str) -> User | None:
        with self._db() as db:
            row = db.execute("SELECT name, role, created FROM users WHERE name = ?",
                             (name,)).fetchone()
        return User(*row) if row else None

    def verify(self, name: str, password: str) -> User | None:
        """The user when ``password`` is theirs, else None (same work either way)."""
        with self._db() as db:
            row = db.execute("SELECT name, role, created, hash FROM users WHERE name = ?",
                             (name,)).fetchone()
        if row is None:
            self._hash.verify(password, self._dummy)
            return None
        return User(row[0], row[1], row[2]) if self._hash.verify(password, row[3]) else None

    # ------------------------------------------------------------------ sign-in limits
    def failures(self, key: str, since: float) -> int:
        with self._db() as db:
            return int(db.execute("SELECT COUNT(*) FROM login_failures WHERE key = ? AND "
                                  "time >= ?", (key, since)).fetchone()[0])

    def record_failure(self, key: str, now: float, keep_s: float) -> None:
        with self._db() as db:
            db.execute("DELETE FROM login_failures WHERE time < ?", (now - keep_s,))
            db.execute("INSERT INTO login_failures (key, time) VALUES (?, ?)", (key, now))

    def clear_failures(self, key: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM login_failures WHERE key = ?", (key,))

    # ------------------------------------------------------------------ audit trail
    def record_action(self, user: str, event_id: str, action: str, detail: str,
                      outcome: str, now: float | None = None) -> Action:
        a = Action(time.time() if now is None else now, user, event_id, action, detail, outcome)
        with self._db() as db:
            db.execute("INSERT INTO actions (time, user, event_id, action, detail, outcome) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       (a.time, a.user, a.event_id, a.action, a.detail, a.outcome))
        return a

    def actions(self, event_id: str | None = None, limit: int = 200) -> list[Action]:
        """Actions on ``event_id`` (every event when None), oldest first."""
        with self._db() as db:
            if event_id is None:
                rows = db.execute("SELECT time, user, event_id, action, detail, outcome FROM "
                                  "actions ORDER BY time DESC LIMIT ?", (limit,)).fetchall()
                rows.reverse()
            else:
                rows = db.execute("SELECT time, user, event_id, action, detail, outcome FROM "
                                  "actions WHERE event_id = ? ORDER BY time", (event_id,)
                                  ).fetchall()
        return [Action(*r) for r in rows]
