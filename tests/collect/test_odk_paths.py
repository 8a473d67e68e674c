"""import-odk writes only inside its output folders: hostile instance ids and media names, symbolic links
planted in the output folder, existing files (never overwritten), file modes. SYNTHETIC submissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from odkcollect import encrypt_submission, submission_xml

from quietpoll.collect.odk import SIGNATURE_NOTE, import_odk
from quietpoll.errors import CollectError, QuietpollError
from quietpoll.instrument.form import load_instrument

FORM = "odk_paths"
FORM_MD = f"""
| survey |
|        | type         | name   | label  |
|        | integer      | age    | Age    |
|        | image        | photo  | Photo  |
|        | begin_repeat | member | Member |
|        | text         | mname  | Name   |
|        | end_repeat   |        |        |
|        | text         | remark | Remark |
| settings |
|          | form_id | form_title |
|          | {FORM}  | Paths      |
"""
IID = "uuid:7a7a0000-0000-4000-8000-000000000001"
PHOTO = b"SYNTHETIC-PHOTO" * 40


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def instrument(tmp_path):
    path = tmp_path / "form.md"
    path.write_text(FORM_MD, encoding="utf-8")
    return load_instrument(path)


def _source(root: Path, key, iid: str = IID, media: dict[str, bytes] | None = None) -> Path:
    """One submission; the encrypted files go to a folder of a harmless name whatever the id."""
    body = "<age>30</age><photo>p.jpg</photo><member><mname>A</mname></member><remark>synthetic</remark>"
    encrypt_submission(
        root / "instances" / "one",
        key.public_key(),
        FORM,
        None,
        iid,
        submission_xml(FORM, None, iid, body),
        media if media is not None else {"p.jpg": PHOTO},
    )
    return root / "instances"


def _tree(root: Path) -> dict[str, bytes | str]:
    """Every path under root except the source, with file contents or link targets."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            if rel.startswith("src/") or rel == "src":
                continue
            out[rel] = os.readlink(p) if p.is_symlink() else (p.read_bytes() if p.is_file() else "dir")
    return out


@pytest.mark.parametrize(
    "iid",
    ["..", "../x", "../../x", "/tmp/x", "uuid:a/b", "uuid:a\\b", ".", "uuid:a\tb", "uuid:a\u202eb", "uuid:..", "-rf"],
)
def test_hostile_instance_ids_are_refused(tmp_path, key, instrument, iid):
    source = _source(tmp_path / "src", key, iid)
    out = tmp_path / "out" / "r.csv"
    out.parent.mkdir()
    before = _tree(tmp_path)
    with pytest.raises(CollectError, match="instance id"):
        import_odk(source, key, instrument, out)
    assert _tree(tmp_path) == before  # nothing written anywhere, inside or outside the folder


@pytest.mark.parametrize(
    "name",
    [
        "..",
        "../evil.jpg",
        "../../evil.jpg",
        "/tmp/evil.jpg",
        ".hidden",
        "-x.jpg",
        "a\tb.jpg",
        "a\u202egpj.exe",
        "a\\b.jpg",
        "a\u0085b.jpg",
    ],
)
def test_hostile_media_names_are_refused(tmp_path, key, instrument, name):
    source = _source(tmp_path / "src", key, media={name: PHOTO})
    out = tmp_path / "out" / "r.csv"
    out.parent.mkdir()
    before = _tree(tmp_path)
    with pytest.raises(CollectError, match="plain file name"):
        import_odk(source, key, instrument, out)
    assert _tree(tmp_path) == before


def test_media_folder_that_is_a_symlink_is_refused(tmp_path, key, instrument):
    source = _source(tmp_path / "src", key)
    outside = tmp_path / "outside"
    outside.mkdir()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "r-media").symlink_to(outside)
    before = _tree(tmp_path)
    with pytest.raises(CollectError, match="symbolic link"):
        import_odk(source, key, instrument, out_dir / "r.csv")
    assert _tree(tmp_path) == before and list(outside.iterdir()) == []


def test_symlinked_submission_folder_inside_the_media_folder_is_refused(tmp_path, key, instrument):
    source = _source(tmp_path / "src", key)
    outside = tmp_path / "outside"
    outside.mkdir()
    media = tmp_path / "out" / "media"
    media.mkdir(parents=True)
    (media / IID.replace(":", "_")).symlink_to(outside)  # a link planted as the folder's child
    before = _tree(tmp_path)
    with pytest.raises(CollectError, match="symbolic link"):
        import_odk(source, key, instrument, tmp_path / "out" / "r.csv", media_dir=media)
    assert _tree(tmp_path) == before and list(outside.iterdir()) == []


def test_symlinked_media_file_is_not_followed(tmp_path, key, instrument):
    source = _source(tmp_path / "src", key)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me")
    sub = tmp_path / "out" / "r-media" / IID.replace(":", "_")
    sub.mkdir(parents=True)
    (sub / "p.jpg").symlink_to(victim)
    dangling = tmp_path / "out2" / "r-media" / IID.replace(":", "_")
    dangling.mkdir(parents=True)
    (dangling / "p.jpg").symlink_to(tmp_path / "created-through-link")
    before = _tree(tmp_path)
    for out in (tmp_path / "out" / "r.csv", tmp_path / "out2" / "r.csv"):
        with pytest.raises(CollectError, match="already exists"):
            import_odk(source, key, instrument, out)
    assert _tree(tmp_path) == before and victim.read_bytes() == b"keep me"
    assert not (tmp_path / "created-through-link").exists()


def test_out_file_symlink_or_existing_files_are_never_overwritten(tmp_path, key, instrument):
    source = _source(tmp_path / "src", key)
    victim = tmp_path / "victim.csv"
    victim.write_bytes(b"keep me")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "linked.csv").symlink_to(victim)
    (out_dir / "taken.csv").write_bytes(b"an earlier import")
    (out_dir / "rep-member.csv").write_bytes(b"an earlier repeat table")
    before = _tree(tmp_path)
    for name, shown in (("linked.csv", "linked.csv"), ("taken.csv", "taken.csv"), ("rep.csv", "rep-member.csv")):
        with pytest.raises(CollectError, match="already exists") as info:
            import_odk(source, key, instrument, out_dir / name)
        assert shown in str(info.value)
    assert _tree(tmp_path) == before and victim.read_bytes() == b"keep me"
    # a media file that exists is refused too, before any table is written
    sub = out_dir / "m" / IID.replace(":", "_")
    sub.mkdir(parents=True)
    (sub / "p.jpg").write_bytes(b"old photo")
    with pytest.raises(CollectError, match="p.jpg"):
        import_odk(source, key, instrument, out_dir / "fresh.csv", media_dir=out_dir / "m")
    assert (sub / "p.jpg").read_bytes() == b"old photo" and not (out_dir / "fresh.csv").exists()


def test_outputs_are_private(tmp_path, key, instrument):
    source = _source(tmp_path / "src", key)
    out = tmp_path / "out" / "r.csv"
    out.parent.mkdir()
    old = os.umask(0o022)  # an ordinary umask: the modes must not depend on it
    try:
        result = import_odk(source, key, instrument, out)
    finally:
        os.umask(old)
    assert result.media_files == 1
    for f in (out, out.with_name("r-member.csv"), tmp_path / "out" / "r-media" / IID.replace(":", "_") / "p.jpg"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    for d in (tmp_path / "out" / "r-media", tmp_path / "out" / "r-media" / IID.replace(":", "_")):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    assert (tmp_path / "out" / "r-media" / IID.replace(":", "_") / "p.jpg").read_bytes() == PHOTO
    # a second import into the same names is refused, the first files stay
    with pytest.raises(QuietpollError, match="already exists"):
        import_odk(source, key, instrument, out)


def test_signature_is_described_as_integrity_only():
    import quietpoll.collect.odk as odk

    assert "proves nothing" in odk.__doc__ and "not authenticity" in odk.__doc__
    assert "anybody" in SIGNATURE_NOTE and "does not show who made" in SIGNATURE_NOTE
