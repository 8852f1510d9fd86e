"""The dashboard's formatting helpers."""
from __future__ import annotations

import pytest

from portal.dashboard import present


@pytest.mark.parametrize("minutes, shown", [
    (None, "—"), (0, "0 s"), (0.75, "45 s"), (0.5, "30 s"), (59 / 60, "59 s"),
    (0.999, "1 min"), (1, "1 min"), (1.25, "1.2 min"), (24, "24 min"), (90, "90 min"),
])
def test_duration_under_a_minute_is_in_seconds(minutes, shown):
    assert present.duration(minutes) == shown
