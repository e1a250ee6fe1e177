"""One run at a time per data folder (`MARKETING_HOME`).

`airflow dags test` for a day deletes any DAG run the metadata DB holds for that day before it
starts its own, and DuckDB lets one process write the work file: a second `marketing run` on the
same folder used to kill the first mid-task. The CLI takes this lock before anything else, so
the second run refuses at once in one sentence naming the running one (or waits, `--wait`).

The lock is `fcntl.flock` on `<MARKETING_HOME>/run.lock`, not a pid file: the kernel drops it
when the last process holding the file open dies, however it dies, so a killed run never leaves
a lock that blocks the next, and no guess about a recorded pid (which the system may have given
to another process since) decides anything. The `filelock` package (not installed here: Airflow
does not need it) takes the same `flock` on Unix but keeps no note of who holds it, which the
refusal must name; the dozen lines below add only that note (pid, command, day, start time,
and the pid of the Airflow process) to the standard library's call, in the lock file itself.
The `airflow dags test` child inherits the open file, so a run whose CLI was killed still holds
the folder while its Airflow process lives. Local file systems only: `flock` over NFS is not
reliable, and the data folder should not be on one anyway (DuckDB's own lock is `fcntl` too).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

LOCK_FILE = "run.lock"


class RunLockedError(RuntimeError):
    """Another run holds the data folder; the message names it."""


@dataclass(frozen=True)
class Holder:
    """The note a lock holder leaves in the lock file."""

    pid: int
    command: str
    day: str
    started: str
    host: str = ""
    child_pid: int | None = None

    def describe(self) -> str:
        child = f" (Airflow pid {self.child_pid})" if self.child_pid else ""
        return (f"`marketing {self.command}` for {self.day}, pid {self.pid}{child}, "
                f"started {self.started}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    return True


class RunLock:
    """The data folder's run lock; `acquire` it, `release` it (also on process exit)."""

    def __init__(self, home: Path) -> None:
        self.path = home / LOCK_FILE
        self.fd: int | None = None
        self.holder: Holder | None = None

    def acquire(self, command: str, day: str, wait: bool = False,
                on_wait=None) -> Holder | None:
        """Take the lock for `marketing <command>` on `day`. Held by a live run: raise
        RunLockedError naming it, or with `wait` block until it is free (`on_wait` gets the
        holder's description first). Returns the note of a run that held the lock before and
        died without releasing it (its pid gone), which the caller may report; else None."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                other = read_holder(self.path)
                described = other.describe() if other else "a run that has not said which yet"
                if other and not _alive(other.pid):
                    # Its CLI was killed, but the Airflow process it started inherited the
                    # lock and still runs, writing the warehouse.
                    described += "; its CLI process is gone but its Airflow process still runs"
                if not wait:
                    raise RunLockedError(
                        f"another run is using the data folder {self.path.parent}: "
                        f"{described}; wait for it to end, or pass --wait") from None
                if on_wait:
                    on_wait(described)
                fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        # A clean release clears the note: one still here is a run that died holding it.
        stale = read_holder(self.path)
        self.holder = Holder(os.getpid(), command, day,
                             datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                             socket.gethostname())
        self._write()
        return stale

    def note(self, **changes: object) -> None:
        """Update the holder's note: the day a backfill is on, the Airflow child's pid."""
        assert self.holder is not None, "note() before acquire()"
        self.holder = Holder(**{**asdict(self.holder), **changes})
        self._write()

    def _write(self) -> None:
        assert self.fd is not None and self.holder is not None
        data = json.dumps(asdict(self.holder)).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)
        os.fsync(self.fd)

    def release(self) -> None:
        """Clear the note and close the file, which drops the lock once no child that
        inherited it still runs (no LOCK_UN: that would drop it for such a child too)."""
        if self.fd is None:
            return
        os.ftruncate(self.fd, 0)
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def read_holder(path: Path) -> Holder | None:
    """The note in the lock file, if one is there and readable."""
    try:
        text = path.read_text()
        return Holder(**json.loads(text)) if text.strip() else None
    except (OSError, ValueError, TypeError):
        return None
