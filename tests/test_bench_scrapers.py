"""`make bench` reads the dashboard's markup (bench/seed.py and bench/inprocess.py find the
polled region's URL and the CSRF token in it): the patterns must match the page the
portal renders today, or the bench stops with "no polled region"."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.support.factories import instructor_pages

BENCH = Path(__file__).resolve().parent.parent / "bench"


def bench_module(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["seed", "inprocess"])
def test_the_bench_finds_the_polled_region_and_the_token(client, auth, instructor, name):
    html = instructor_pages(client, auth, instructor)("/dashboard")
    module = bench_module(name)
    poll = module.POLL_URL.search(html)
    assert poll and poll.group(1).startswith("/dashboard/rows?")
    assert client.get(poll.group(1).replace("&amp;", "&")).status_code in (200, 204)
    if hasattr(module, "CSRF_META"):
        assert module.CSRF_META.search(html)
