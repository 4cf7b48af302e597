"""Stage timings (creativeadmin.stages): what an operator reads in a product set's log line."""

import time

from creativeadmin.stages import stage, stages_recorded


def _busy(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_nested_stages_count_their_time_once_and_the_shares_add_up():
    started = time.perf_counter()
    with stages_recorded() as times:
        _busy(0.01)  # outside every stage: "other"
        with stage("search"):
            _busy(0.02)
            with stage("render"):
                _busy(0.03)
            _busy(0.01)
    elapsed = time.perf_counter() - started
    assert set(times.wall) == {"other", "search", "render"}
    assert times.cpu["render"] >= 0.03 and times.cpu["search"] >= 0.03
    assert times.cpu["search"] < 0.03 + 0.03  # the nested render is not counted again in search
    assert sum(times.wall.values()) <= elapsed  # nothing counted twice: the shares add up to the block


def test_stages_outside_a_recording_are_free_and_leave_nothing():
    with stage("search"):
        pass
    with stages_recorded() as times:
        pass
    assert set(times.wall) == {"other"}
