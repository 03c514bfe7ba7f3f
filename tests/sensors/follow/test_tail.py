"""The file follower: rotation, truncation and restarts lose no line and read none twice."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from jobber.sensors.event import SensorError
from jobber.sensors.follow import FileFollower


def append(path: Path, *lines: str, end: str = "\n") -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("".join(line + end for line in lines))


def texts(follower: FileFollower) -> list[str]:
    return [line.data.decode() for line in follower.poll()]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "auth.log"
    path.touch()
    return path


def test_reads_appended_lines_and_waits_for_the_newline(log: Path) -> None:
    follower = FileFollower(log)
    append(log, "one", "two")
    append(log, "thr", end="")
    assert texts(follower) == ["one", "two"]
    append(log, "ee")
    assert texts(follower) == ["three"]
    assert texts(follower) == []


def test_offsets_are_byte_positions(log: Path) -> None:
    follower = FileFollower(log)
    append(log, "ab", "cde")
    assert [(line.offset, line.data) for line in follower.poll()] == [(0, b"ab"), (3, b"cde")]


def test_a_missing_file_is_waited_for(tmp_path: Path) -> None:
    follower = FileFollower(tmp_path / "later.log")
    assert follower.poll() == []
    append(tmp_path / "later.log", "hello")
    assert texts(follower) == ["hello"]


def test_rotation_while_running_finishes_the_old_file_first(log: Path) -> None:
    follower = FileFollower(log)
    append(log, "a1")
    assert texts(follower) == ["a1"]
    append(log, "a2")
    append(log, "a3-no-newline", end="")
    log.rename(log.with_name("auth.log.1"))
    assert texts(follower) == ["a2"]  # renamed, no new file yet: keep reading the old one
    append(log, "b1", "b2")
    assert texts(follower) == ["a3-no-newline", "b1", "b2"]
    append(log, "b3")
    assert texts(follower) == ["b3"]


def test_truncation_while_running(log: Path) -> None:
    follower = FileFollower(log)
    append(log, "old line one", "old line two")
    assert len(texts(follower)) == 2
    os.truncate(log, 0)
    append(log, "new")
    assert texts(follower) == ["new"]


def test_truncation_then_growth_past_the_old_position_is_seen(log: Path) -> None:
    follower = FileFollower(log)
    append(log, "first generation")
    assert texts(follower) == ["first generation"]
    os.truncate(log, 0)
    append(log, "second generation, longer than the first", "and more")
    assert texts(follower) == ["second generation, longer than the first", "and more"]


def test_restart_resumes_where_it_stopped(log: Path, tmp_path: Path) -> None:
    state = tmp_path / "auth.state"
    follower = FileFollower(log, state)
    append(log, "1", "2")
    assert texts(follower) == ["1", "2"]
    follower.close()
    append(log, "3")
    again = FileFollower(log, state)
    assert texts(again) == ["3"]


def test_rotation_while_stopped(log: Path, tmp_path: Path) -> None:
    state = tmp_path / "auth.state"
    follower = FileFollower(log, state)
    append(log, "1", "2")
    assert texts(follower) == ["1", "2"]
    follower.close()
    append(log, "3", "4")
    log.rename(log.with_name("auth.log.1"))
    append(log, "5")
    again = FileFollower(log, state)
    assert texts(again) == ["3", "4", "5"]


def test_truncation_while_stopped(log: Path, tmp_path: Path) -> None:
    state = tmp_path / "auth.state"
    follower = FileFollower(log, state)
    append(log, "a fairly long first line", "another")
    assert len(texts(follower)) == 2
    follower.close()
    os.truncate(log, 0)
    append(log, "x")
    assert texts(FileFollower(log, state)) == ["x"]


def test_a_crash_repeats_at_most_the_last_batch(log: Path, tmp_path: Path) -> None:
    state = tmp_path / "auth.state"
    follower = FileFollower(log, state)
    append(log, "1")
    assert texts(follower) == ["1"]
    append(log, "2")
    assert texts(follower) == ["2"]  # this poll committed "1"
    del follower  # crash: "2" was returned but never committed
    assert texts(FileFollower(log, state)) == ["2"]


def test_start_at_end_skips_history(log: Path) -> None:
    append(log, "history")
    follower = FileFollower(log, start_at_end=True)
    assert texts(follower) == []
    append(log, "news")
    assert texts(follower) == ["news"]


def test_long_lines_are_cut_not_buffered_forever(log: Path) -> None:
    follower = FileFollower(log, max_line=8, max_bytes=64)
    append(log, "x" * 20)
    assert [len(line.data) for line in follower.poll()] == [8, 8, 4]


def test_a_corrupt_state_file_is_a_clear_error(log: Path, tmp_path: Path) -> None:
    state = tmp_path / "auth.state"
    state.write_text("{not json")
    with pytest.raises(SensorError, match="delete it to start again"):
        FileFollower(log, state)


@pytest.mark.parametrize("seed", range(20))
def test_random_rotations_truncations_and_restarts(tmp_path: Path, seed: int) -> None:
    """A random life of a log file: every line written is read exactly once, in order."""
    rng = random.Random(seed)
    log, state = tmp_path / "app.log", tmp_path / "app.state"
    log.touch()
    written: list[str] = []
    read: list[str] = []
    follower: FileFollower | None = FileFollower(log, state, max_bytes=rng.choice([64, 4096]))
    assert follower.poll() == []  # it has seen the file: from now on, nothing may be missed
    generation = 0
    for step in range(150):
        action = rng.choices(["write", "poll", "rotate", "truncate", "restart"],
                             weights=[10, 6, 1, 1, 2])[0]
        if action == "write":
            lines = [f"g{generation}-s{step}-{i}" for i in range(rng.randrange(1, 5))]
            append(log, *lines)
            written.extend(lines)
        elif action == "poll" and follower is not None:
            read.extend(texts(follower))
        elif action == "rotate":
            # logrotate: rename, new file; the old one stays until the next rotation
            log.rename(log.with_name(f"app.log.{generation}"))
            generation += 1
            log.touch()
            if follower is not None:
                read.extend(texts(follower))  # one rotation at a time, as logrotate does
        elif action == "truncate" and follower is not None:
            read.extend(catch_up(follower))  # copytruncate loses unread lines by nature
            os.truncate(log, 0)
            generation += 1
        elif action == "restart" and follower is not None:
            follower.close()
            follower = None
        elif action == "restart":
            follower = FileFollower(log, state, max_bytes=rng.choice([64, 4096]))
        if follower is None and action == "rotate":
            follower = FileFollower(log, state)
            read.extend(texts(follower))
    if follower is None:
        follower = FileFollower(log, state)
    read.extend(catch_up(follower))
    assert read == written


def catch_up(follower: FileFollower) -> list[str]:
    lines: list[str] = []
    for _ in range(1000):
        got = texts(follower)
        if not got:
            return lines
        lines.extend(got)
    raise AssertionError("the follower never caught up")
