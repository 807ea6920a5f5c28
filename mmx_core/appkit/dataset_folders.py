"""App support for the Data page: checking a data set folder on the server (validated in place, or imported).

What is on disk (embedding sets, data sets, uploads) is listed and loaded by :mod:`mmx_core.workspace`.
"""

from __future__ import annotations

from pathlib import Path

from mmx_core.base.errors import MMXError
from mmx_core.base.paths import check_under_roots, data_dir
from mmx_core.jobs import ImportRequest, submit

__all__ = ["check_folder"]


def check_folder(path: str | Path, name: str = "") -> dict:
    """Validate a trailer data set folder on the server; returns ``{"kind", "ok", "report", "problems", "name", "note"}``.

    ``ok`` is True or False for a validated folder and None when an import job was queued.

    A folder in the project's format (``manifest.json``) is validated in place; it can be used for
    training when it lies under the data folder. Any other folder is taken for the authors' layout and
    imported into ``data/<name>`` by a background job (:class:`mmx_core.jobs.ImportRequest`, which runs
    ``python -m mmx_core import-mmx``: it validates every tensor and reports problems in the data set's
    ``import_report.json``).

    Only folders under the allowed roots (:func:`mmx_core.base.paths.allowed_roots`) are read.
    """
    folder = check_under_roots(path, "folder")
    if not folder.is_dir():
        raise MMXError("not a folder on the server; give the full path of a data set folder", folder)
    from mmx_core.data import validate_dataset
    from mmx_core.data.validate import format_report

    if (folder / "manifest.json").exists():
        report = validate_dataset(folder, deep=False)
        inside = folder.resolve().is_relative_to(data_dir().resolve())
        return {"kind": "project format", "ok": report.ok, "report": format_report(report),
                "problems": report.problems, "name": folder.name if inside else "",
                "note": "" if inside else f"usable for training once it is under {data_dir()}"}
    if not name:
        raise MMXError("no manifest.json, so this is taken for the authors' layout; give a name for the imported "
                       "data set (letters, digits, '_', '-', '.')")
    job = submit(ImportRequest(folder=str(folder), dataset=name))
    return {"kind": "authors' layout", "ok": None, "problems": [], "name": name,
            "report": f"Importing in the background into {data_dir() / name} (job {job.name}). The importer "
                      "validates every tensor and writes import_report.json; the data set appears on the Train "
                      "page when the job has finished.",
            "note": "import queued"}
