"""Photo bytes on disk: content-addressed, written to a temporary file and renamed so a
crash never leaves half a photo under a real name."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from hub.attachments.sniff import EXTENSIONS


def relative_name(sha256: str, content_type: str) -> str:
    return f"{sha256[:2]}/{sha256}.{EXTENSIONS[content_type]}"


def save(root: Path, data: bytes, content_type: str) -> tuple[str, str]:
    """Returns (sha256, the name relative to `root`)."""
    digest = hashlib.sha256(data).hexdigest()
    name = relative_name(digest, content_type)
    target = root / name
    if target.exists():
        return digest, name
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return digest, name


def path_of(root: Path, stored_as: str) -> Path | None:
    """The file for a stored name, or None if it is missing or would leave `root`."""
    base = root.resolve()
    path = (base / stored_as).resolve()
    if base not in path.parents or not path.is_file():
        return None
    return path
