"""The private cache entries both caches use (safe_output.write_private_entry / read_private_entry):
0700 folder, 0600 file whatever the umask, nothing read through a symlink, other versions ignored."""

from __future__ import annotations

import os
import stat

from quietpoll.safe_output import read_private_entry, write_private_entry


def test_entry_round_trip_modes_and_refusals(tmp_path):
    old = os.umask(0)
    try:
        path = write_private_entry(tmp_path / "c", "k1", 1, "summary", {"a": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert read_private_entry(tmp_path / "c", "k1", 1, "summary") == {"a": 1}
    assert read_private_entry(tmp_path / "c", "k1", 2, "summary") is None  # another version
    assert read_private_entry(tmp_path / "c", "k1", 1, "instrument") is None  # another kind of entry
    assert read_private_entry(tmp_path / "c", "k2", 1, "summary") is None  # none
    (tmp_path / "c" / "k2.json").write_text('{"v": 1, "key": "k1", "summary": 2}')  # named for another key
    assert read_private_entry(tmp_path / "c", "k2", 1, "summary") is None
    (tmp_path / "c" / "k3.json").write_text("{not json")
    assert read_private_entry(tmp_path / "c", "k3", 1, "summary") is None
    (tmp_path / "link").symlink_to(tmp_path / "c")  # a symlinked folder is not read through
    assert read_private_entry(tmp_path / "link", "k1", 1, "summary") is None
    (tmp_path / "c" / "k4.json").symlink_to(path)  # nor a symlinked entry
    assert read_private_entry(tmp_path / "c", "k4", 1, "summary") is None
