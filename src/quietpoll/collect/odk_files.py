"""Where import-odk writes: names taken from ODK submissions checked, and files written only inside the
output folders (folder descriptors, ``O_NOFOLLOW``, ``O_EXCL``, modes 0600/0700; never an overwrite).

Split from :mod:`quietpoll.collect.odk` (the format and decryption), whose docstring states the rules.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from quietpoll.errors import CollectError

__all__ = ["check_instance_id", "checked_part", "media_plan", "plain_name", "safe_dir", "write_media"]

_SAFE_NAME = re.compile(r"^[^/\\\x00]+$")
_INSTANCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._-]{0,199}")


def plain_name(name: str) -> bool:
    """One ordinary file name: no separators, NUL, control or format characters (bidi overrides), not
    hidden (``.``, ``..``, ``.x``), not an option (``-x``), at most 200 characters."""
    return (
        0 < len(name) <= 200
        and _SAFE_NAME.match(name) is not None
        and not name.startswith((".", "-"))
        and not any(unicodedata.category(ch).startswith("C") for ch in name)
    )


def check_instance_id(instance_id: str, where: str) -> str:
    if not _INSTANCE_ID.fullmatch(instance_id) or ".." in instance_id:
        raise CollectError(
            f"{where}: instance id {instance_id!r} is not an ODK instance id (expected 'uuid:...': "
            "letters, digits, ':', '.', '_', '-', at most 200); refusing the submission"
        )
    return instance_id


def safe_dir(instance_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", instance_id)


def checked_part(name: str) -> str:
    if not plain_name(name) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise CollectError(f"repeat name {name!r} cannot be part of a file name; rename the repeat in the form")
    return name


def media_plan(folder: Path, media: list[tuple[str, str, bytes]]) -> list[tuple[str, str, bytes]]:
    """(sub-folder, file name, bytes) for each media file, after checking that every path resolves inside
    ``folder``, that neither ``folder`` nor a sub-folder is a symbolic link and that no file exists."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise CollectError(
            f"{folder}: the media folder is a symbolic link or not a folder; give a real folder "
            "(--media). Nothing was written"
        )
    real = folder.resolve()
    plan, seen = [], set()
    for instance_id, name, data in media:
        sub = safe_dir(check_instance_id(instance_id, "media"))
        if not plain_name(name) or not plain_name(sub):
            raise CollectError(f"submission {instance_id!r}: media file name {name!r} is not a plain file name")
        place = folder / sub
        if place.is_symlink() or (place.exists() and not place.is_dir()):
            raise CollectError(
                f"{place} is a symbolic link or not a folder; import-odk never writes through a "
                "link. Nothing was written"
            )
        target = place / name
        if os.path.lexists(target):
            raise CollectError(
                f"{target} already exists; import-odk never overwrites a file: remove it or give "
                "another --media folder. Nothing was written"
            )
        if not (real / sub / name).resolve().is_relative_to(real):
            raise CollectError(f"{target} is outside the media folder {folder}; nothing was written")
        if (sub, name) in seen:
            raise CollectError(
                f"two media files of submission {instance_id!r} would both be written to {target}; nothing was written"
            )
        seen.add((sub, name))
        plan.append((sub, name, data))
    return plan


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _open_dir(name: str | Path, where: Path, dir_fd: int | None = None) -> int:
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW, dir_fd=dir_fd)
    except (NotADirectoryError, OSError) as exc:
        raise CollectError(
            f"{where}: cannot open the folder without following a link ({exc.strerror}); "
            "import-odk never writes through a symbolic link"
        ) from None


def write_media(folder: Path, plan: list[tuple[str, str, bytes]]) -> None:
    """Write each planned media file as a new file (mode 0600, O_EXCL | O_NOFOLLOW) in its sub-folder
    (mode 0700), every path opened relative to the folder's descriptor: nothing outside ``folder``."""
    from quietpoll.safe_output import private_dir

    if not folder.exists():
        private_dir(folder)
    root = _open_dir(folder, folder)
    try:
        subs: dict[str, int] = {}
        try:
            for sub, name, data in plan:
                if sub not in subs:
                    try:
                        os.mkdir(sub, 0o700, dir_fd=root)
                    except FileExistsError:
                        pass
                    subs[sub] = _open_dir(sub, folder / sub, dir_fd=root)
                try:
                    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600, dir_fd=subs[sub])
                except FileExistsError:
                    raise CollectError(
                        f"{folder / sub / name} already exists; import-odk never overwrites a file"
                    ) from None
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
        finally:
            for fd in subs.values():
                os.close(fd)
    finally:
        os.close(root)
