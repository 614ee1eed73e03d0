"""Files shipped inside the package (the screens, the migrations), found through
`importlib.resources` so they load the same from a checkout, an editable install or a wheel."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def package_dir(package: str, *parts: str) -> Path:
    """The directory `parts` inside `package` on the file system.

    Starlette's FileResponse and Alembic both need real paths, so a package that is not
    unpacked on disk (a zip import) is refused here rather than failing on the first request.
    """
    found = files(package).joinpath(*parts)
    if not isinstance(found, Path) or not found.is_dir():
        raise RuntimeError(f"{package}/{'/'.join(parts)} is not a directory on disk: {found!r}")
    return found.resolve()
