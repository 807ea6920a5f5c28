"""The kinds of background job: one validated request type each, and the command it runs.

Every request is a frozen dataclass whose fields are the only values that reach the command line; ``validate()``
checks them (names, ranges, folders inside the project's folders, inputs under the allowed roots of
:func:`mmx_core.base.paths.allowed_roots`, the device and the precision) and returns the request with its name and
paths filled in. ``command()`` gives the argument list after ``python -m mmx_core``: every job runs a documented
CLI command, so anything the app starts can be run by hand with the same result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import ClassVar

from mmx_core.base.constraints import Choice, Int, ParameterError, check_params
from mmx_core.base.devices import DEFAULT_PRECISION, DEVICES, PRECISIONS, check_device, check_precision
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import cache_dir, check_under_roots, data_dir, runs_dir
from mmx_core.train.config import STAGES
from mmx_core.jobs.checks import check_name, dataset_folder, init_path, inside, new_dataset, tags_file, stamp

__all__ = ["STAGES", "JobRequest", "TrainRequest", "EmbedRequest", "ImportRequest",
           "GenerateRequest", "ProbeRequest", "PrecomputeRequest", "ExtractRequest", "KINDS", "request_from_record"]

SEED = Int(0, 2**31 - 1)  # the seeds a job accepts


@dataclass(frozen=True)
class JobRequest:
    """Base of every request. ``kind`` names the job kind; ``name`` its folder (filled by ``validate``)."""

    kind: ClassVar[str] = ""
    on_device: ClassVar[bool] = False  # the job has ``device`` and ``precision`` fields (--device, --precision)
    name_label: ClassVar[str] = "job name"  # what the name is called in messages
    name_format: ClassVar[str] = ""  # the name when none is given: fields as {self.data}, the time as {stamp}
    named: ClassVar[dict[str, str]] = {}  # fields holding a file or folder name, and how messages call each
    limits: ClassVar[dict] = {}  # constraints of the kind's own fields

    def validate(self) -> "JobRequest":
        """The request ready to queue: every check (values, inputs, device), its name and paths filled in."""
        self.check_values()
        self.check_inputs()
        self._checked_device()
        return replace(self, **self.filled())

    def filled(self) -> dict:
        """The fields :meth:`validate` fills in: the name (the kinds add resolved paths); refused when the new data
        set a job would write (its ``dataset``, unless it resumes) exists already."""
        if hasattr(self, "dataset") and not getattr(self, "resume", False):
            new_dataset(self.dataset)
        return {"name": check_name(self.name or self.name_format.format(self=self, stamp=stamp()), self.name_label)}

    def checked(self) -> "JobRequest":
        """The request itself once every field has its default's type and a valid value (no disk access; a stored
        ``job.json`` is read through this); else :class:`ParameterError`."""
        for f in fields(self):
            value, want = getattr(self, f.name), type(f.default)
            if not isinstance(value, want) or (want is int and isinstance(value, bool)):
                raise ParameterError(f.name, value, f"of type {want.__name__}")
        self.check_values()
        return self

    def check_values(self) -> None:
        """Checks of the fields' values that need no disk access (the kinds add their own)."""
        for field, label in self.named.items():
            check_name(getattr(self, field), label)
        check_params(self, **self.limits)
        if self.on_device:
            check_params(self, device=Choice(DEVICES), precision=Choice(PRECISIONS))
        if self.name:
            check_name(self.name, self.name_label)

    def check_inputs(self) -> None:
        """Checks that the inputs the command reads still exist (called again when a queued job starts)."""

    def command(self, job_dir: Path) -> list[str]:
        raise NotImplementedError

    @property
    def device(self) -> str:
        """The resource the job holds while it runs (the kinds ``on_device`` have a ``device`` field instead)."""
        return "cpu"

    def _checked_device(self) -> None:
        """The device (and the precision on it) can run here; refused when the job is submitted."""
        if self.on_device:
            check_device(self.device)
            check_precision(self.precision, self.device, "precision")

    def _precision_args(self) -> list[str]:
        """``["--precision", choice]`` (nothing for the default, which the command takes by itself)."""
        return [] if self.precision == DEFAULT_PRECISION else ["--precision", self.precision]


@dataclass(frozen=True)
class TrainRequest(JobRequest):
    """Train one stage (``python -m mmx_core train``). The job folder is the run folder ``runs/<name>``.

    ``init`` is "" or the path of a starting checkpoint inside the runs or models folder; ``tags`` is "" or an
    annotations CSV (``id,tag``) under the annotations folder or the allowed roots (fine stage only). ``epochs``
    and ``batch_size`` left 0 are not passed: the run takes :data:`mmx_core.train.config.STAGE_RECIPES`.
    """

    kind: ClassVar[str] = "train"
    on_device: ClassVar[bool] = True
    name_label: ClassVar[str] = "run name"
    name_format: ClassVar[str] = "{self.stage}-{self.data}-{stamp}"
    limits: ClassVar[dict] = {"stage": Choice(STAGES), "epochs": Int(0, 1000), "batch_size": Int(0, 4096), "seed": SEED}
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
        super().check_values()
        if self.tags and self.stage != "fine":
            raise MMXError(f"a tags file teaches the fine stage only, not stage {self.stage!r}")

    def check_inputs(self) -> None:
        dataset_folder(self.data)
        if self.init:
            init_path(self.init)
        if self.tags and not tags_file(self.tags).is_file():
            raise MMXError(f"tags file {self.tags!r} does not exist")

    def filled(self) -> dict:
        return {**super().filled(), "tags": str(tags_file(self.tags)) if self.tags else ""}

    def command(self, job_dir: Path) -> list[str]:
        argv = ["train", "--stage", self.stage, "--data", str(dataset_folder(self.data)),
                "--out", str(inside(job_dir, runs_dir(), "run folder")), "--device", self.device,
                "--seed", str(self.seed), *self._precision_args()]
        given = {"--epochs": self.epochs, "--batch-size": self.batch_size,  # 0: the stage's recipe
                 "--init": self.init and init_path(self.init), "--tags": self.tags and tags_file(self.tags)}
        return argv + [part for option, value in given.items() if value for part in (option, str(value))]


@dataclass(frozen=True)
class EmbedRequest(JobRequest):
    """Embed data set ``data`` with run ``run``'s encoder into ``runs/<run>/embeddings/<data>.npz``."""

    kind: ClassVar[str] = "embed"
    on_device: ClassVar[bool] = True
    name_format: ClassVar[str] = "embed-{self.run}-{self.data}-{stamp}"
    named: ClassVar[dict[str, str]] = {"run": "run", "data": "data set"}
    run: str = ""
    data: str = ""
    device: str = "auto"
    name: str = ""
    precision: str = DEFAULT_PRECISION

    def check_inputs(self) -> None:
        if not (runs_dir() / self.run / "checkpoints").is_dir():
            raise MMXError(f"run {self.run!r} has no checkpoints under {runs_dir()}")
        dataset_folder(self.data)

    def command(self, job_dir: Path) -> list[str]:
        return ["embed", "--data", str(dataset_folder(self.data)), "--model", str(runs_dir() / self.run),
                "--out", str(runs_dir() / self.run / "embeddings" / f"{self.data}.npz"), "--device", self.device,
                *self._precision_args(), "--with-metadata"]


@dataclass(frozen=True)
class ImportRequest(JobRequest):
    """Import the authors' feature layout from ``folder`` into ``data/<dataset>`` (``import-mmx``)."""

    kind: ClassVar[str] = "import"
    name_format: ClassVar[str] = "import-{self.dataset}"
    named: ClassVar[dict[str, str]] = {"dataset": "data set name"}
    folder: str = ""
    dataset: str = ""
    name: str = ""

    def check_inputs(self) -> None:
        if not check_under_roots(self.folder, "import folder").is_dir():
            raise MMXError(f"{self.folder!r} is not a folder on the server")

    def filled(self) -> dict:
        return {**super().filled(), "folder": str(check_under_roots(self.folder, "import folder"))}

    def command(self, job_dir: Path) -> list[str]:
        # skipped files are kept in the set's import_report.json; the job finishes with what could be read
        return ["import-mmx", self.folder, "--out", str(data_dir() / self.dataset), "--allow-skips"]


@dataclass(frozen=True)
class GenerateRequest(JobRequest):
    """Generate a demo data set ``data/<dataset>`` with planted sub-genres (``synth``)."""

    kind: ClassVar[str] = "generate"
    name_format: ClassVar[str] = "generate-{self.dataset}"
    named: ClassVar[dict[str, str]] = {"dataset": "data set name"}
    limits: ClassVar[dict] = {"trailers": Int(20, 100_000), "seed": SEED}
    dataset: str = "demo"
    trailers: int = 400
    seed: int = 0
    name: str = ""

    def command(self, job_dir: Path) -> list[str]:
        return ["synth", "--out", str(data_dir() / self.dataset), "--trailers", str(self.trailers),
                "--seed", str(self.seed)]


@dataclass(frozen=True)
class SetJobRequest(JobRequest):
    """A job on one embedding set of the catalogue (``embedding_set``: a name the app lists, or an .npz)."""

    name_format: ClassVar[str] = "{self.kind}-{self.stem}-{stamp}"
    embedding_set: str = ""
    name: str = ""

    def check_values(self) -> None:
        if not isinstance(self.embedding_set, str) or not self.embedding_set.strip():
            raise MMXError(f"choose an embedding set for the {self.kind} job")
        super().check_values()

    @property
    def stem(self) -> str:
        """The set's name as a part of a job name."""
        return re.sub(r"[^A-Za-z0-9_.-]", "-", self.embedding_set)[:40].strip("-.") or "set"


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
    on_device: ClassVar[bool] = True
    name_format: ClassVar[str] = "extract-{self.dataset}"
    named: ClassVar[dict[str, str]] = {"dataset": "data set name"}
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

    def check_inputs(self) -> None:
        if not check_under_roots(self.videos, "video folder").is_dir():
            raise MMXError(f"video folder {self.videos!r} is not a folder on the server")
        if self.meta and not check_under_roots(self.meta, "metadata file").is_file():
            raise MMXError(f"metadata file {self.meta!r} does not exist")

    def filled(self) -> dict:
        return {**super().filled(), "videos": str(check_under_roots(self.videos, "video folder")),
                "meta": str(check_under_roots(self.meta, "metadata file")) if self.meta else ""}

    def command(self, job_dir: Path) -> list[str]:
        flags = {"--untrained": self.untrained, "--allow-partial": self.allow_partial, "--strict": self.strict,
                 "--resume": self.resume}
        return ["extract", self.videos, "--out", str(data_dir() / self.dataset), "--experts", self.experts,
                "--device", self.device, *self._precision_args(), *(["--meta", self.meta] if self.meta else []),
                *[flag for flag, on in flags.items() if on]]


KINDS: dict[str, type[JobRequest]] = {cls.kind: cls for cls in (
    TrainRequest, EmbedRequest, ImportRequest, GenerateRequest, ProbeRequest, PrecomputeRequest, ExtractRequest)}


def request_from_record(record: dict) -> JobRequest:
    """The request stored in a ``job.json`` (older training runs have no ``kind``: they are training)."""
    kind = record.get("kind", "train")
    if kind not in KINDS:
        raise MMXError(f"unknown job kind {kind!r}")
    known = {f.name for f in fields(KINDS[kind])}
    return KINDS[kind](**{k: v for k, v in (record.get("request") or {}).items() if k in known})
