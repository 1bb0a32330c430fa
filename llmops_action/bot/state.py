"""Shared state of the server and the workers: delivery ids seen, jobs, leases, small records.

Two backends with one interface: SQLite under LLMOPS_DATA_DIR (one machine, no service to run) and Redis
(several machines). A lease is a key held by one owner until it expires; it is what makes a job taken by a
worker that died visible to the others (its lease runs out) and what bounds concurrency per installation.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

PREFIX = "llmops:"


class State(Protocol):
    def set_if_absent(self, key: str, value: str) -> bool: ...
    def set(self, key: str, value: str) -> None: ...
    def get(self, key: str) -> str | None: ...
    def delete(self, key: str) -> None: ...
    def keys(self, prefix: str) -> list[str]: ...
    def lease(self, key: str, owner: str, ttl: float) -> bool: ...
    def renew(self, key: str, owner: str, ttl: float) -> bool: ...
    def release(self, key: str, owner: str) -> None: ...
    def holder(self, key: str) -> str | None: ...
    def save_job(self, job: dict[str, Any]) -> None: ...
    def job(self, job_id: str) -> dict[str, Any] | None: ...
    def jobs(self, *, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]: ...
    def ping(self) -> bool: ...


class SqliteState:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        db = self._db()
        for ddl in (
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS leases (key TEXT PRIMARY KEY, owner TEXT NOT NULL, until REAL NOT NULL)",
            "CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, state TEXT NOT NULL, created REAL NOT NULL, "
            "data TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created)",
        ):
            db.execute(ddl)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")  # one writer at a time across processes: claims are atomic
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def set_if_absent(self, key: str, value: str) -> bool:
        with self._tx() as db:
            return db.execute("INSERT OR IGNORE INTO kv VALUES (?, ?)", (key, value)).rowcount == 1

    def set(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, value))

    def get(self, key: str) -> str | None:
        row = self._db().execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def delete(self, key: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM kv WHERE key = ?", (key,))

    def keys(self, prefix: str) -> list[str]:
        rows = self._db().execute(
            "SELECT key FROM kv WHERE key >= ? AND key < ?", (prefix, prefix + "\uffff")
        )
        return [r[0] for r in rows]

    def lease(self, key: str, owner: str, ttl: float) -> bool:
        now = time.time()
        with self._tx() as db:
            row = db.execute("SELECT owner, until FROM leases WHERE key = ?", (key,)).fetchone()
            if row is not None and row[0] != owner and row[1] > now:
                return False
            db.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?)", (key, owner, now + ttl))
            return True

    def renew(self, key: str, owner: str, ttl: float) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE leases SET until = ? WHERE key = ? AND owner = ?", (time.time() + ttl, key, owner)
            )
            return cur.rowcount == 1

    def release(self, key: str, owner: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM leases WHERE key = ? AND owner = ?", (key, owner))

    def holder(self, key: str) -> str | None:
        row = self._db().execute("SELECT owner, until FROM leases WHERE key = ?", (key,)).fetchone()
        return row[0] if row and row[1] > time.time() else None

    def save_job(self, job: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?)",
                (job["id"], job["state"], job["created"], json.dumps(job)),
            )

    def job(self, job_id: str) -> dict[str, Any] | None:
        row = self._db().execute("SELECT data FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def jobs(self, *, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        if state is None:
            rows = self._db().execute("SELECT data FROM jobs ORDER BY created DESC LIMIT ?", (limit,))
        else:
            rows = self._db().execute(
                "SELECT data FROM jobs WHERE state = ? ORDER BY created DESC LIMIT ?", (state, limit)
            )
        return [json.loads(r[0]) for r in rows]

    def ping(self) -> bool:
        self._db().execute("SELECT 1").fetchone()
        return True


# Renew or release only what we own: a lease that expired and was taken by another worker stays theirs.
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
_LEASE = (
    "local cur = redis.call('get', KEYS[1]) "
    "if cur == false or cur == ARGV[1] then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end "
    "return 0"
)


class RedisState:
    def __init__(self, url: str) -> None:
        import redis

        self.r = redis.Redis.from_url(url, decode_responses=True)
        self._renew = self.r.register_script(_RENEW)
        self._release = self.r.register_script(_RELEASE)
        self._lease = self.r.register_script(_LEASE)

    def set_if_absent(self, key: str, value: str) -> bool:
        return bool(self.r.set(PREFIX + "kv:" + key, value, nx=True))

    def set(self, key: str, value: str) -> None:
        self.r.set(PREFIX + "kv:" + key, value)

    def get(self, key: str) -> str | None:
        value = self.r.get(PREFIX + "kv:" + key)
        return None if value is None else str(value)

    def delete(self, key: str) -> None:
        self.r.delete(PREFIX + "kv:" + key)

    def keys(self, prefix: str) -> list[str]:
        strip = len(PREFIX + "kv:")
        return sorted(k[strip:] for k in self.r.scan_iter(match=PREFIX + "kv:" + prefix + "*"))

    def lease(self, key: str, owner: str, ttl: float) -> bool:
        return bool(self._lease(keys=[PREFIX + "lease:" + key], args=[owner, int(ttl * 1000)]))

    def renew(self, key: str, owner: str, ttl: float) -> bool:
        return bool(self._renew(keys=[PREFIX + "lease:" + key], args=[owner, int(ttl * 1000)]))

    def release(self, key: str, owner: str) -> None:
        self._release(keys=[PREFIX + "lease:" + key], args=[owner])

    def holder(self, key: str) -> str | None:
        value = self.r.get(PREFIX + "lease:" + key)
        return None if value is None else str(value)

    def save_job(self, job: dict[str, Any]) -> None:
        pipe = self.r.pipeline()
        pipe.set(PREFIX + "job:" + job["id"], json.dumps(job))
        pipe.zadd(PREFIX + "jobs", {job["id"]: job["created"]})
        for state in ("queued", "running"):
            if job["state"] == state:
                pipe.sadd(PREFIX + "state:" + state, job["id"])
            else:
                pipe.srem(PREFIX + "state:" + state, job["id"])
        pipe.execute()

    def job(self, job_id: str) -> dict[str, Any] | None:
        raw = self.r.get(PREFIX + "job:" + job_id)
        return json.loads(raw) if raw else None

    def jobs(self, *, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        if state in ("queued", "running"):
            ids = list(self.r.smembers(PREFIX + "state:" + state))
        else:
            ids = list(self.r.zrevrange(PREFIX + "jobs", 0, (limit if state is None else 10 * limit) - 1))
        raws = self.r.mget([PREFIX + "job:" + i for i in ids]) if ids else []
        found = [json.loads(x) for x in raws if x]
        if state is not None:
            found = [j for j in found if j["state"] == state]
        return sorted(found, key=lambda j: j["created"], reverse=True)[:limit]

    def ping(self) -> bool:
        return bool(self.r.ping())


def open_state(data_dir: Path, redis_url: str | None) -> State:
    if redis_url:
        return RedisState(redis_url)
    return SqliteState(data_dir / "bot.db")
