"""The kinds of background job: one validated request type each, and the command it runs.

Every request is a frozen dataclass whose fields are the only values that reach the command line;
``validated()`` checks them (names, ranges, folders inside the project's folders, inputs under the
allowed roots of :func:`mmx_core.base.paths.allowed_roots`, the device and the precision) and
returns the request with its defaults filled in. ``command()`` gives the argument list after the
``python -m mmx_core`` prefix: every job runs a documented CLI command, so anything the app starts
can be run by hand with the same result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import ClassVar

from mmx_core.base.devices import DEFAULT_PRECISION, DEVICES, PRECISIONS, check_device, check_precision, resolve_device
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import cache_dir, check_under_roots, data_dir, runs_dir
from mmx_core.train.config import STAGES
from mmx_core.jobs.checks import (check_int, check_name, dataset_folder, init_path, inside, new_dataset, tags_file,
                                  stamp)

__all__ = ["STAGES", "JobRequest", "TrainRequest", "EmbedRequest", "ImportRequest",
           "GenerateRequest", "ProbeRequest", "PrecomputeRequest", "ExtractRequest", "KINDS", "request_from_record"]

@dataclass(frozen=True)
class JobRequest:
    """Base of every request. ``kind`` names the job kind; ``name`` its folder (filled by ``validated``)."""

    kind: ClassVar[str] = ""
    device_field: ClassVar[str | None] = None  # the field holding the device choice, if the job uses one
    precision_field: ClassVar[str | None] = None  # the field holding the precision choice (--precision), if any
    name_label: ClassVar[str] = "job name"  # what the name is called in messages

    def validated(self) -> "JobRequest":
        raise NotImplementedError

    def checked(self) -> "JobRequest":
        """The request itself, once every field has its default's type (no disk access; a stored
        ``job.json`` is read through this). Raises :class:`MMXError` naming the field and the value."""
        for f in fields(self):
            value, want = getattr(self, f.name), type(f.default)
            if not isinstance(value, want) or (want is int and isinstance(value, bool)):
                raise MMXError(f"{f.name} must be {want.__name__}, got {value!r}")
        self.check_values()
        return self

    def check_values(self) -> None:
        """Checks of the fields' values that need no disk access (the kinds add their own)."""
        if self.device_field and getattr(self, self.device_field) not in DEVICES:
            raise MMXError(f"device {getattr(self, self.device_field)!r} is not one of {DEVICES}")
        if self.precision_field and getattr(self, self.precision_field) not in PRECISIONS:
            raise MMXError(f"precision {getattr(self, self.precision_field)!r} is not one of {PRECISIONS}")
        if self.name:
            check_name(self.name, self.name_label)

    def check_inputs(self) -> None:
        """Checks that the inputs the command reads still exist (called again when a queued job starts)."""

    def command(self, job_dir: Path) -> list[str]:
        raise NotImplementedError

    @property
    def device(self) -> str:
        """The resource the job holds while it runs (one job at a time per device)."""
        return resolve_device(getattr(self, self.device_field)).type if self.device_field else "cpu"

    def _with(self, **changes) -> "JobRequest":
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return type(self)(**values)

    def _checked_device(self) -> None:
        """The device (and the precision on it) can run here; refused when the job is submitted."""
        if self.device_field:
            check_device(getattr(self, self.device_field))
        if self.precision_field:
            check_precision(getattr(self, self.precision_field),
                            getattr(self, self.device_field) if self.device_field else "cpu", "precision")

    def _precision_args(self) -> list[str]:
        """``["--precision", choice]`` for the command line of a job with a precision field (nothing for the
        default, which the command takes by itself)."""
        choice = getattr(self, self.precision_field) if self.precision_field else DEFAULT_PRECISION
        return [] if choice == DEFAULT_PRECISION else ["--precision", choice]


@dataclass(frozen=True)
class TrainRequest(JobRequest):
    """Train one stage (``python -m mmx_core train``). The job folder is the run folder ``runs/<name>``.

    ``init`` is "" or the path of a starting checkpoint inside the runs or models folder; ``tags`` is "" or
    an annotations CSV (``id,tag``) under the annotations folder or the allowed roots, passed as ``--tags``
    (fine stage only). ``epochs`` and ``batch_size`` left 0 are not passed: the run takes the stage's recipe
    (the command's own defaults, :data:`mmx_core.train.config.STAGE_RECIPES`).
    """

    kind: ClassVar[str] = "train"
    device_field: ClassVar[str] = "device"
    precision_field: ClassVar[str] = "precision"
    name_label: ClassVar[str] = "run name"
    stage: str = "coarse"
    data: str = ""
    epochs: int = 0
    batch_size: int = 0
    device: str = "auto"
    seed: int = 0
    init: str = ""
    tags: str = ""
    name: str = ""
    precision: str = DEFAULT_PRECISION

    def check_values(self) -> None:
        if self.stage not in STAGES:
            raise MMXError(f"stage {self.stage!r} is not one of {STAGES}")
        if self.tags and self.stage != "fine":
            raise MMXError(f"a tags file teaches the fine stage only, not stage {self.stage!r}")
        if self.device not in DEVICES:
            raise MMXError(f"device {self.device!r} is not one of {DEVICES}")
        for name, high in (("epochs", 1000), ("batch_size", 4096), ("seed", 2**31 - 1)):
            check_int(self, name, 0, high)                   # epochs, batch_size 0: the stage's recipe
        super().check_values()

    def check_inputs(self) -> None:
        dataset_folder(self.data)
        if self.init:
            init_path(self.init)
        if self.tags and not tags_file(self.tags).is_file():
            raise MMXError(f"tags file {self.tags!r} does not exist")

    def validated(self) -> "TrainRequest":
        self.check_values()
        self.check_inputs()
        self._checked_device()
        name = check_name(self.name or f"{self.stage}-{self.data}-{stamp()}", self.name_label)
        tags = str(tags_file(self.tags)) if self.tags else ""
        return self._with(name=name, tags=tags)

    def command(self, job_dir: Path) -> list[str]:
        argv = ["train", "--stage", self.stage, "--data", str(dataset_folder(self.data)),
                "--out", str(inside(job_dir, runs_dir(), "run folder")), "--device", self.device,
                "--seed", str(self.seed), *self._precision_args()]
        for option, value in (("--epochs", self.epochs), ("--batch-size", self.batch_size)):
            if value:
                argv += [option, str(value)]
        if self.init:
            argv += ["--init", str(init_path(self.init))]
        if self.tags:
            argv += ["--tags", str(tags_file(self.tags))]
        return argv


@dataclass(frozen=True)
class EmbedRequest(JobRequest):
    """Embed data set ``data`` with run ``run``'s encoder into ``runs/<run>/embeddings/<data>.npz``."""

    kind: ClassVar[str] = "embed"
    device_field: ClassVar[str] = "device"
    precision_field: ClassVar[str] = "precision"
    run: str = ""
    data: str = ""
    device: str = "auto"
    name: str = ""
    precision: str = DEFAULT_PRECISION

    def check_values(self) -> None:
        check_name(self.run, "run")
        check_name(self.data, "data set")
        super().check_values()

    def check_inputs(self) -> None:
        if not (runs_dir() / self.run / "checkpoints").is_dir():
            raise MMXError(f"run {self.run!r} has no checkpoints under {runs_dir()}")
        dataset_folder(self.data)

    def validated(self) -> "EmbedRequest":
        self.check_values()
        self.check_inputs()
        self._checked_device()
        return self._with(name=check_name(self.name or f"embed-{self.run}-{self.data}-{stamp()}", "job name"))

    @property
    def output(self) -> Path:
        return runs_dir() / self.run / "embeddings" / f"{self.data}.npz"

    def command(self, job_dir: Path) -> list[str]:
        return ["embed", "--data", str(dataset_folder(self.data)), "--model", str(runs_dir() / self.run),
                "--out", str(self.output), "--device", self.device, *self._precision_args(), "--with-metadata"]


@dataclass(frozen=True)
class ImportRequest(JobRequest):
    """Import the authors' feature layout from ``folder`` into ``data/<dataset>`` (``import-mmx``)."""

    kind: ClassVar[str] = "import"
    folder: str = ""
    dataset: str = ""
    name: str = ""

    def check_values(self) -> None:
        check_name(self.dataset, "data set name")
        super().check_values()

    def check_inputs(self) -> None:
        if not check_under_roots(self.folder, "import folder").is_dir():
            raise MMXError(f"{self.folder!r} is not a folder on the server")

    def validated(self) -> "ImportRequest":
        self.check_values()
        self.check_inputs()
        folder = check_under_roots(self.folder, "import folder")
        new_dataset(self.dataset)
        return self._with(folder=str(folder),
                          name=check_name(self.name or f"import-{self.dataset}", "job name"))

    def command(self, job_dir: Path) -> list[str]:
        # skipped files are kept in the set's import_report.json; the job finishes with what could be read
        return ["import-mmx", self.folder, "--out", str(data_dir() / self.dataset), "--allow-skips"]


@dataclass(frozen=True)
class GenerateRequest(JobRequest):
    """Generate a demo data set ``data/<dataset>`` with planted sub-genres (``synth``)."""

    kind: ClassVar[str] = "generate"
    dataset: str = "demo"
    trailers: int = 400
    seed: int = 0
    name: str = ""

    def check_values(self) -> None:
        check_name(self.dataset, "data set name")
        check_int(self, "trailers", 20, 100_000)
        check_int(self, "seed", 0, 2**31 - 1)
        super().check_values()

    def validated(self) -> "GenerateRequest":
        self.check_values()
        new_dataset(self.dataset)
        return self._with(name=check_name(self.name or f"generate-{self.dataset}", "job name"))

    def command(self, job_dir: Path) -> list[str]:
        return ["synth", "--out", str(data_dir() / self.dataset), "--trailers", str(self.trailers),
                "--seed", str(self.seed)]


@dataclass(frozen=True)
class SetJobRequest(JobRequest):
    """A job on one embedding set of the catalogue (``embedding_set``: a name the app lists, or an .npz)."""

    embedding_set: str = ""
    name: str = ""

    def check_values(self) -> None:
        if not isinstance(self.embedding_set, str) or not self.embedding_set.strip():
            raise MMXError(f"choose an embedding set for the {self.kind} job")
        super().check_values()

    def validated(self) -> "SetJobRequest":
        self.check_values()
        stem = re.sub(r"[^A-Za-z0-9_.-]", "-", self.embedding_set)[:40].strip("-.") or "set"
        return self._with(name=check_name(self.name or f"{self.kind}-{stem}-{stamp()}", "job name"))


@dataclass(frozen=True)
class ProbeRequest(SetJobRequest):
    """The Evaluate page's linear probe on embedding set ``embedding_set`` (``probe``); cached on disk."""

    kind: ClassVar[str] = "probe"

    def command(self, job_dir: Path) -> list[str]:
        return ["probe", self.embedding_set]


@dataclass(frozen=True)
class PrecomputeRequest(SetJobRequest):
    """Default maps and sub-genres of embedding set ``embedding_set`` into the cache (``precompute --set``)."""

    kind: ClassVar[str] = "precompute"

    def command(self, job_dir: Path) -> list[str]:
        return ["precompute", "--set", self.embedding_set, "--out", str(cache_dir())]


@dataclass(frozen=True)
class ExtractRequest(JobRequest):
    """Expert features from a folder of videos into ``data/<dataset>`` (``extract``); resumable."""

    kind: ClassVar[str] = "extract"
    device_field: ClassVar[str] = "device"
    precision_field: ClassVar[str] = "precision"
    videos: str = ""
    dataset: str = ""
    meta: str = ""
    experts: str = "image,scene,motion,audio"
    device: str = "auto"
    untrained: bool = False
    allow_partial: bool = False
    strict: bool = False
    resume: bool = False
    name: str = ""
    precision: str = DEFAULT_PRECISION

    def check_values(self) -> None:
        check_name(self.dataset, "data set name")
        super().check_values()

    def check_inputs(self) -> None:
        if not check_under_roots(self.videos, "video folder").is_dir():
            raise MMXError(f"video folder {self.videos!r} is not a folder on the server")
        if self.meta and not check_under_roots(self.meta, "metadata file").is_file():
            raise MMXError(f"metadata file {self.meta!r} does not exist")

    def validated(self) -> "ExtractRequest":
        self.check_values()
        self.check_inputs()
        videos = check_under_roots(self.videos, "video folder")
        meta = check_under_roots(self.meta, "metadata file") if self.meta else None
        if not self.resume:
            new_dataset(self.dataset)
        self._checked_device()
        return self._with(videos=str(videos), meta=str(meta) if meta is not None else "",
                          name=check_name(self.name or f"extract-{self.dataset}", "job name"))

    def command(self, job_dir: Path) -> list[str]:
        argv = ["extract", self.videos, "--out", str(data_dir() / self.dataset), "--experts", self.experts,
                "--device", self.device, *self._precision_args()]
        if self.meta:
            argv += ["--meta", self.meta]
        flags = {"--untrained": self.untrained, "--allow-partial": self.allow_partial, "--strict": self.strict,
                 "--resume": self.resume}
        return argv + [flag for flag, on in flags.items() if on]


KINDS: dict[str, type[JobRequest]] = {cls.kind: cls for cls in (
    TrainRequest, EmbedRequest, ImportRequest, GenerateRequest, ProbeRequest, PrecomputeRequest, ExtractRequest)}


def request_from_record(record: dict) -> JobRequest:
    """The request stored in a ``job.json`` (older training runs have no ``kind``: they are training)."""
    kind = record.get("kind", "train")
    if kind not in KINDS:
        raise MMXError(f"unknown job kind {kind!r}")
    cls = KINDS[kind]
    known = {f.name for f in fields(cls)}
    values = {k: v for k, v in (record.get("request") or {}).items() if k in known}
    return cls(**values)
