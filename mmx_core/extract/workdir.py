"""The work folder of an extraction: finished videos kept until the data set is assembled.

``.<out name>.extract/`` beside the data set folder holds ``params.json`` (the
parameters that change the features: a resume with others is refused),
``videos/<key>.npz`` per finished video (features per expert, frame counts per
clip, clips per sequence, and a JSON record), ``failed/<key>.json`` per video
that could not be extracted, and ``thumbs/<key>/<s>.jpg`` per sequence. Every
file is written atomically, so a ``kill -9`` leaves only whole files, and a
resumed run skips the videos that have their ``.npz``. ``<key>`` is a hash of
the video's id. Under torchrun every rank writes into the same folder.

Only the writer of the data set touches its work folder: the extraction holds the
writer lock of the set (:func:`mmx_core.base.output_writer.output_lock`) from before
:meth:`WorkFolder.prepare` until the set is renamed into place, so a second
extraction into the same ``out`` is refused instead of emptying this folder.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from mmx_core.base.artefacts import atomic_path, write_json
from mmx_core.base.errors import MMXError
from mmx_core.extract.video import DecodeError

__all__ = ["WorkFolder", "work_dir"]


def work_dir(out: str | Path) -> Path:
    """The folder an extraction into ``out`` keeps its finished videos in until the set is assembled."""
    out = Path(out)
    return out.parent / f".{out.name}.extract"


class WorkFolder:
    """Finished and failed videos of one extraction (see the module docstring)."""

    def __init__(self, out: str | Path):
        self.path = work_dir(out)

    @staticmethod
    def key(video_id: str) -> str:
        return hashlib.sha1(video_id.encode()).hexdigest()[:20]

    def _npz(self, video_id: str) -> Path:
        return self.path / "videos" / f"{self.key(video_id)}.npz"

    def _failed(self, video_id: str) -> Path:
        return self.path / "failed" / f"{self.key(video_id)}.json"

    def prepare(self, identity: dict[str, Any], resume: bool) -> None:
        """Start afresh, or (``resume``) keep what an interrupted run with the same ``identity`` finished.

        Raises
        ------
        MMXError
            ``resume`` with a work folder made with other parameters.
        """
        params = self.path / "params.json"
        if self.path.exists() and not resume:
            shutil.rmtree(self.path)
        if params.exists() and json.loads(params.read_text()) != json.loads(json.dumps(identity, default=str)):
            raise MMXError("an interrupted extraction with other parameters (experts, weights, detector, clip "
                           "length or batch size) is here; run without --resume to start over", self.path)
        for sub in ("videos", "failed", "thumbs"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        write_json(params, identity)

    def is_done(self, video_id: str) -> bool:
        return self._npz(video_id).exists()

    def save_video(self, video_id: str, relative: str, plan: Mapping[str, Any],
                   features: Mapping[str, Sequence[np.ndarray | None]], thumbs: Mapping[int, bytes],
                   experts: Iterable[Any], partial: str | None = None) -> int:
        """Write a finished video; returns the number of clips kept.

        Parameters
        ----------
        plan : mapping
            The decoder's ``plan`` message (``clip_counts``, ``sequences``, ...).
        features : mapping of str to sequence
            Per expert, per clip: the feature rows, or None when missing.
        thumbs : mapping of int to bytes
            Sequence -> JPEG.
        partial : str, optional
            Why only part of the file decoded (kept under ``--allow-partial``); :meth:`partials` reads it back,
            so a resumed or another rank's video is reported too.

        Clips no expert has features for are left out (the format wants at least
        one expert a clip), and so are sequences left without a clip.

        Raises
        ------
        DecodeError
            When no clip has any feature (e.g. only the audio expert and no audio).
        """
        experts = list(experts)
        clip_counts = np.asarray(plan["clip_counts"], dtype=np.int64)
        has_any = np.zeros(int(clip_counts.sum()), dtype=bool)
        for expert in experts:
            has_any |= np.array([f is not None and len(f) > 0 for f in features[expert.name]], dtype=bool)
        if not has_any.any():
            raise DecodeError("no expert gave features for any clip (" + ", ".join(
                "no audio stream" if e.modality == "audio" and not plan.get("has_audio") else e.name
                for e in experts) + ")", relative)
        sequence_of = np.repeat(np.arange(len(clip_counts)), clip_counts)
        kept_counts = np.bincount(sequence_of[has_any], minlength=len(clip_counts))
        kept_sequences = np.flatnonzero(kept_counts > 0)
        arrays: dict[str, np.ndarray] = {"clip_counts": kept_counts[kept_sequences].astype(np.int64)}
        missing: dict[str, int] = {}
        for expert in experts:
            frames, counts = _expert_arrays(expert, features[expert.name], has_any)
            arrays[f"{expert.name}.frames"] = frames
            arrays[f"{expert.name}.counts"] = counts
            missing[expert.name] = int((counts == 0).sum())
        thumbs_dir = self.path / "thumbs" / self.key(video_id)
        thumbs_dir.mkdir(parents=True, exist_ok=True)
        for new, old in enumerate(kept_sequences):
            if int(old) in thumbs:
                with atomic_path(thumbs_dir / f"{new}.jpg") as tmp:
                    tmp.write_bytes(thumbs[int(old)])
        bounds = plan.get("sequences") or []
        record = {"id": video_id, "file": relative, "missing_clips": missing, "dropped_clips": int((~has_any).sum()),
                  "sequences": [bounds[int(q)] for q in kept_sequences if int(q) < len(bounds)],
                  **{k: v for k, v in plan.items() if k in ("duration", "cuts", "has_audio", "width", "height",
                                                            "rotation")},
                  "partial": partial}
        with atomic_path(self._npz(video_id)) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, meta=np.frombuffer(json.dumps(record).encode(), dtype=np.uint8), **arrays)
        self._failed(video_id).unlink(missing_ok=True)
        return int(arrays["clip_counts"].sum())

    def load_video(self, video_id: str) -> dict[str, Any] | None:
        """What :meth:`save_video` wrote (arrays by name, ``meta`` as a dict), or None."""
        path = self._npz(video_id)
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as data:
            out: dict[str, Any] = {name: data[name] for name in data.files}
        return {**out, "meta": json.loads(out["meta"].tobytes().decode())}

    def record_failure(self, video_id: str, relative: str, reason: str) -> None:
        write_json(self._failed(video_id), {"file": relative, "reason": reason})

    def failures(self, video_ids: Iterable[str]) -> list[tuple[str, str]]:
        """(file, reason) of the videos that failed and were not extracted since."""
        records = [json.loads(self._failed(v).read_text()) for v in video_ids
                   if self._failed(v).exists() and not self.is_done(v)]
        return [(record["file"], record["reason"]) for record in records]

    def partials(self, video_ids: Iterable[str]) -> list[tuple[str, str]]:
        """(file, reason) of the finished videos that decoded only in part (``--allow-partial``)."""
        out = []
        for video_id in filter(self.is_done, video_ids):
            with np.load(self._npz(video_id), allow_pickle=False) as data:  # the record only, not the features
                record = json.loads(data["meta"].tobytes().decode())
            out += [(record["file"], record["partial"])] if record.get("partial") else []
        return out

    def thumbnail_entries(self, video_id: str, clip_counts: np.ndarray) -> list[tuple[str, bytes]]:
        """Archive entries of a video: its trailer keyframe (middle of the longest sequence), then each sequence's."""
        thumbs_dir = self.path / "thumbs" / self.key(video_id)
        entries = []
        for s in range(len(clip_counts)):
            path = thumbs_dir / f"{s}.jpg"
            if path.exists():
                entries.append((f"sequences/{video_id}/{s}.jpg", path.read_bytes()))
        if entries and (longest := thumbs_dir / f"{int(np.argmax(clip_counts))}.jpg").exists():
            entries.insert(0, (f"{video_id}.jpg", longest.read_bytes()))
        return entries

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _expert_arrays(expert: Any, per_clip_features: Sequence[np.ndarray | None],
                   kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One expert's rows of the kept clips as float16 ``(frames, dim)`` and its frame count per kept clip.

    A pooled expert keeps one row (the mean) per clip; a clip it has no features for counts 0.
    """
    per_clip = [f for f, keep in zip(per_clip_features, kept) if keep]
    counts = np.array([0 if f is None else len(f) for f in per_clip], dtype=np.int64)
    rows = [np.asarray(f, dtype=np.float32) for f in per_clip if f is not None and len(f)]
    if expert.temporal == "pooled":
        rows = [r.mean(axis=0, keepdims=True) for r in rows]
        counts = np.minimum(counts, 1)
    frames = np.concatenate(rows) if rows else np.zeros((0, expert.dim), dtype=np.float32)
    return frames.astype(np.float16), counts
