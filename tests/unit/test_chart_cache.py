"""The chart cache without helm: storing, verifying, listing, offline misses."""

from __future__ import annotations

from pathlib import Path

import pytest

from illm_lab.charts.cache import ChartCache, ChartNotCached
from illm_lab.charts.reference import ChartRef
from tests.support.fakebin import FIXTURE_CHARTS, package_chart

REF = ChartRef("repo", "https://charts.example.com", "labdemo", "0.1.0")


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return package_chart(FIXTURE_CHARTS / "labdemo", tmp_path / "pkg")


def test_cache_lives_under_the_lab_cache_dir(lab_env: Path) -> None:
    assert ChartCache().root == lab_env / "cache" / "charts"


def test_add_then_lookup_is_content_addressed(archive: Path) -> None:
    cache = ChartCache()
    entry = cache.add(REF, archive)
    assert entry.digest.startswith("sha256:")
    assert entry.path == cache.root / "blobs" / "sha256" / f"{entry.digest[7:]}.tgz"
    assert entry.path.read_bytes() == archive.read_bytes()
    assert cache.lookup(REF) == entry
    other = ChartRef("oci", "oci://mirror.example/labdemo", "labdemo", "0.1.0")
    assert cache.lookup(other) is None
    assert cache.add(other, archive).path == entry.path  # same content, one blob
    assert [e.ref for e in cache.entries()] == [REF, other]
    assert not list((cache.root / "tmp").iterdir())


def test_damaged_archive_is_a_miss(archive: Path) -> None:
    cache = ChartCache()
    entry = cache.add(REF, archive)
    entry.path.write_bytes(b"corrupted")
    assert cache.lookup(REF) is None
    assert cache.entries() == []


def test_damaged_ref_record_is_a_miss(archive: Path) -> None:
    cache = ChartCache()
    cache.add(REF, archive)
    (cache.root / "refs" / f"{REF.key}.json").write_text("{not json")
    assert cache.lookup(REF) is None


def test_offline_miss_says_how_to_fill_the_cache() -> None:
    with pytest.raises(ChartNotCached) as info:
        ChartCache().fetch(REF, offline=True)
    assert "labdemo 0.1.0 from https://charts.example.com is not in the cache" in str(info.value)
    assert "lab charts pull" in str(info.value)
    assert info.value.exit_code == 3


def test_offline_hit(archive: Path) -> None:
    cache = ChartCache()
    stored = cache.add(REF, archive)
    assert cache.fetch(REF, offline=True) == (stored, False)
