"""The registry of extraction experts: one instance per expert, keyed by manifest name.

Adding a backbone is one new file here (a subclass of :class:`Expert`) and
one line in ``_ALL`` below.
"""

from __future__ import annotations

from mmx_core.base.errors import MMXError
from mmx_core.extract.config import DEFAULT_EXPERTS
from mmx_core.extract.experts.audio import AudioExpert
from mmx_core.extract.experts.base import AudioSampling, Expert, VideoExpert, VideoSampling
from mmx_core.extract.experts.image import ImageExpert
from mmx_core.extract.experts.motion import MotionExpert
from mmx_core.extract.experts.scene import SceneExpert

__all__ = ["Expert", "VideoExpert", "VideoSampling", "AudioSampling", "EXPERTS", "DEFAULT_EXPERTS", "expert_names",
           "get_expert", "parse_experts"]

_ALL: tuple[Expert, ...] = (ImageExpert(), SceneExpert(), MotionExpert(), AudioExpert())

EXPERTS: dict[str, Expert] = {expert.name: expert for expert in _ALL}


def expert_names() -> list[str]:
    """Names of all registered experts, in registry order."""
    return list(EXPERTS)


def get_expert(name: str) -> Expert:
    """The registered expert called ``name``.

    Raises
    ------
    MMXError
        Unknown name (the message lists the known ones).
    """
    try:
        return EXPERTS[name]
    except KeyError:
        raise MMXError(f"--experts: unknown expert {name!r}; choose from {', '.join(EXPERTS)}") from None


def parse_experts(spec: str | list[str] | tuple[str, ...] | None) -> list[Expert]:
    """``"image,scene"`` (or a list of names; None = defaults) -> experts, duplicates removed.

    Raises
    ------
    MMXError
        Empty list or unknown name.
    """
    if spec is None:
        names = list(DEFAULT_EXPERTS)
    elif isinstance(spec, str):
        names = [part.strip() for part in spec.split(",") if part.strip()]
    else:
        names = [str(part).strip() for part in spec]
    if not names:
        raise MMXError(f"--experts: no expert named in {spec!r}; choose from {', '.join(EXPERTS)}")
    return [get_expert(name) for name in dict.fromkeys(names)]
