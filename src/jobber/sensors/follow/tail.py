"""Follow a log file by name, across rotation and truncation, remembering where it was. I/O.

``FileFollower.poll()`` returns the complete lines appended since the last call, each with its
byte offset. It is meant to be called in a loop by whoever drives the sensor; it never blocks.

Invariants:

* **No line lost on rotation.** When the name points at a new file (rename + create, as logrotate
  does), the old file is read to its end first — including a last line without its newline —
  and only then is the new file read, from its start.
* **Truncation** (``copytruncate``) is seen when the file is shorter than the position, or when
  its first bytes no longer match the fingerprint taken of them; reading restarts at 0.
* **No line read twice across restarts.** The position (device, inode, offset, fingerprint) is
  kept in a state file, replaced atomically (write, fsync, rename). A poll first commits the
  position reached by the previous poll — the caller has handled those lines by then — so a
  crash repeats at most one batch and a clean ``close()`` repeats nothing.
* **Rotation while stopped.** On start, if the name now points at another file, the file the
  state names is looked for by inode among the neighbours in the same directory and finished
  first.
* **Bounded.** One poll reads at most ``max_bytes`` per file; a line longer than ``max_line``
  bytes is cut into pieces of that size rather than buffered without end.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

from jobber.sensors.event import SensorError

_HEAD = 256  # bytes fingerprinted at the start of a file
_MAX_NEIGHBOURS = 1000  # directory entries examined when looking for a rotated file


class Line(NamedTuple):
    offset: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Position:
    """Where a follower is: which file (device, inode), how far, and what its start looked like."""

    device: int
    inode: int
    offset: int
    head_len: int
    head_crc: int


class FileFollower:
    """Follows ``path``; keeps its position in ``state_path`` (``None``: in memory only)."""

    def __init__(self, path: str | Path, state_path: str | Path | None = None, *,
                 start_at_end: bool = False, max_bytes: int = 1 << 20,
                 max_line: int = 1 << 16) -> None:
        self.path = Path(path)
        self.state_path = None if state_path is None else Path(state_path)
        self.start_at_end = start_at_end
        self.max_bytes = max_bytes
        self.max_line = max_line
        self._fd: int | None = None
        self._position: Position | None = None
        self._dirty = False
        self._saved = self._load_state()

    # -- the loop -----------------------------------------------------------------------------
    def poll(self) -> list[Line]:
        """Lines appended since the last poll (commits the previous poll's position first)."""
        self.commit()
        lines: list[Line] = []
        if self._fd is None and not self._open(lines):
            return lines
        assert self._fd is not None and self._position is not None
        if self._was_truncated():
            self._position = self._fingerprinted(self._fd, 0)
        lines.extend(self._read(final=False))
        if self._was_rotated():
            lines.extend(self._drain())  # finish the old file, last line included
            self._close_fd()
            self._open_new(lines)
            if self._fd is not None:
                lines.extend(self._read(final=False))
        self._dirty = True
        return lines

    def commit(self) -> None:
        """Persist the position reached so far (atomically)."""
        if not self._dirty or self._position is None:
            return
        self._dirty = False
        if self.state_path is None:
            return
        temporary = self.state_path.with_name(self.state_path.name + ".tmp")
        data = json.dumps({"path": str(self.path), **asdict(self._position)}).encode()
        try:
            with open(temporary, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.state_path)
        except OSError as exc:
            raise SensorError(f"follower {self.path}: cannot write its state file "
                              f"{self.state_path}: {exc.strerror}") from exc

    def close(self) -> None:
        """Commit and let go of the file."""
        self.commit()
        self._close_fd()

    # -- opening ------------------------------------------------------------------------------
    def _open(self, lines: list[Line]) -> bool:
        """Open the file (finishing a file rotated while stopped first); False if it is absent."""
        saved, self._saved = self._saved, None
        if saved is not None:
            current = _identity(self.path)
            if current != (saved.device, saved.inode):
                lines.extend(self._finish_rotated(saved))
                saved = None
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise SensorError(f"follower {self.path}: cannot open: {exc.strerror}") from exc
        self._fd = fd
        if saved is not None:
            self._position = saved  # a mismatching fingerprint is caught by _was_truncated
        elif self.start_at_end:
            self._position = self._fingerprinted(fd, os.fstat(fd).st_size)
        else:
            self._position = self._fingerprinted(fd, 0)
        self._dirty = True
        return True

    def _open_new(self, lines: list[Line]) -> None:
        at_end, self.start_at_end = self.start_at_end, False  # a rotated-in file is read whole
        try:
            self._open(lines)
        finally:
            self.start_at_end = at_end

    def _finish_rotated(self, saved: Position) -> list[Line]:
        """Read the rest of the file the state names, found by inode next to ``path``."""
        try:
            entries = list(os.scandir(self.path.parent))[:_MAX_NEIGHBOURS]
        except OSError:
            return []
        for entry in entries:
            try:
                stat = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if (stat.st_dev, stat.st_ino) != (saved.device, saved.inode):
                continue
            fd = os.open(entry.path, os.O_RDONLY)
            try:
                self._fd, self._position = fd, saved
                if self._was_truncated():
                    self._position = self._fingerprinted(fd, 0)
                return self._drain()
            finally:
                self._close_fd()
        return []

    # -- reading ------------------------------------------------------------------------------
    def _drain(self) -> list[Line]:
        """Everything left in a file nobody will write to again (bounded by its size)."""
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        lines: list[Line] = []
        for _ in range(size // self.max_bytes + 2):
            got = self._read(final=True)
            if not got:
                break
            lines.extend(got)
        return lines

    def _read(self, final: bool) -> list[Line]:
        """Complete lines from the position on (and a last unterminated one when ``final``)."""
        assert self._fd is not None and self._position is not None
        start = self._position.offset
        chunk = os.pread(self._fd, self.max_bytes, start)
        lines: list[Line] = []
        cursor = 0
        for _ in range(len(chunk) + 1):  # at most one line per byte
            newline = chunk.find(b"\n", cursor, cursor + self.max_line)
            if newline < 0:
                rest = len(chunk) - cursor
                if rest >= self.max_line or (final and rest > 0 and len(chunk) < self.max_bytes):
                    piece = min(rest, self.max_line)
                    lines.append(Line(start + cursor, chunk[cursor:cursor + piece]))
                    cursor += piece
                    continue
                break
            lines.append(Line(start + cursor, chunk[cursor:newline].rstrip(b"\r")))
            cursor = newline + 1
        if cursor:
            self._position = self._advanced(start + cursor)
        return lines

    def _advanced(self, offset: int) -> Position:
        assert self._fd is not None and self._position is not None
        if self._position.head_len >= _HEAD or self._position.head_len >= offset:
            return Position(self._position.device, self._position.inode, offset,
                            self._position.head_len, self._position.head_crc)
        return self._fingerprinted(self._fd, offset)

    def _fingerprinted(self, fd: int, offset: int) -> Position:
        stat = os.fstat(fd)
        head = os.pread(fd, min(offset, _HEAD), 0)
        return Position(stat.st_dev, stat.st_ino, offset, len(head), zlib.crc32(head))

    def _was_truncated(self) -> bool:
        assert self._fd is not None and self._position is not None
        position = self._position
        if os.fstat(self._fd).st_size < position.offset:
            return True
        head = os.pread(self._fd, position.head_len, 0)
        return len(head) != position.head_len or zlib.crc32(head) != position.head_crc

    def _was_rotated(self) -> bool:
        assert self._position is not None
        current = _identity(self.path)
        return current is not None and current != (self._position.device, self._position.inode)

    # -- state --------------------------------------------------------------------------------
    def _load_state(self) -> Position | None:
        if self.state_path is None or not self.state_path.exists():
            return None
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
            return Position(int(data["device"]), int(data["inode"]), int(data["offset"]),
                            int(data["head_len"]), int(data["head_crc"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SensorError(f"follower {self.path}: state file {self.state_path} is unusable "
                              f"({exc}); delete it to start again from the file's start") from exc

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino
