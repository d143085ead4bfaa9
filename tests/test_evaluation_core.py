"""The evaluation's two shared pieces, without processes: the client's reading of the protocol
(:class:`kg.evaluation.protocol.Reader`, which the sync and the async driver feed) and the one
enforcement of ``KG_QUERY_TIMEOUT`` (:class:`kg.evaluation.deadline.Deadline`). The drivers
themselves run against real evaluator processes in tests/test_shared_pool.py and test_pooled.py."""

from __future__ import annotations

import time

import pytest

from kg.errors import QueryError, QueryTimeout
from kg.evaluation.deadline import Deadline
from kg.evaluation.protocol import START_STREAMING, Reader


def test_a_whole_answer_in_one_message():
    reader = Reader()
    reader.first(b"Ajson|cut\0{}")
    assert (reader.fmt, reader.head, reader.done, reader.buffering()) == ("json|cut", [b"{}"], True, False)


def test_a_streamed_answer_is_buffered_up_to_the_streaming_size():
    reader = Reader()
    reader.first(b"Fnt")
    assert reader.fmt == "nt" and reader.buffering()
    reader.keep(b"D" + b"x" * (START_STREAMING - 1))
    assert reader.buffering()  # one byte short: read on before answering
    reader.keep(b"Dyz")
    assert not reader.buffering() and not reader.done and reader.size == START_STREAMING + 1
    assert reader.chunk(b"Dmore") == b"more" and reader.chunk(b"E") is None and reader.done


def test_the_query_s_fault_and_a_failure_are_told_apart():
    with pytest.raises(QueryError, match="^Bad query here$"):
        Reader().first(b"QBad query here")
    with pytest.raises(RuntimeError, match="MemoryError: boom"):
        Reader().first(b"XMemoryError: boom")
    reader = Reader()
    reader.first(b"Fjson")
    with pytest.raises(RuntimeError, match="died mid-answer"):
        reader.keep(b"Xdied mid-answer")
    assert not reader.done


def test_a_deadline_bounds_every_wait_and_says_why():
    deadline = Deadline(0.2)
    assert 0 < deadline.left() <= 0.2
    deadline.check()  # time left: no error
    time.sleep(0.25)
    assert deadline.left() == 0
    with pytest.raises(QueryTimeout, match=r"ran out of time \(0.2 s limit\) before it began"):
        deadline.check()
    assert "ran out of time (0.2 s limit) and was stopped" in str(deadline.ran_out())
    assert "no evaluator was free before the time limit" in str(deadline.busy())
    spent = Deadline(5, started=time.monotonic() - 6)
    assert spent.left() == 0 and Deadline(5, started=time.monotonic() + 1).left() > 5
