"""The estimators' parameter base (get_params / defaults / repr) and the defaults the CLI and the app share."""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import re

import pytest

from mmx_core.appkit.url_state import PROJECTIONS, ViewState
from mmx_core.base.constraints import Choice, Int, ParameterError, Real
from mmx_core.base.errors import MMXError
from mmx_core.base.params import Params
from mmx_core.base.paths import PROJECT_ROOT as ROOT
from mmx_core.cli import build_parser
from mmx_core.data.synth import synthesize
from mmx_core.commands.argtypes import option_type
from mmx_core.explore import NeighbourIndex, Projector, SubgenreClusterer
from mmx_core.explore.cached_clusters import DEFAULT_CLUSTERS
from mmx_core.explore.cached_map import DEFAULT_PROJECTION
from mmx_core.serving.serve import served

ESTIMATORS = {
    Projector: {"method": "tsne", "perplexity": 7.0, "n_components": 3, "pca_dims": None},
    SubgenreClusterer: {"min_cluster_size": 15, "selection": "eom", "space": "raw", "min_samples": None},
    NeighbourIndex: {"backend": "ivf", "n_lists": 8, "n_probe": 4},
}


@pytest.mark.parametrize("cls", list(ESTIMATORS), ids=lambda c: c.__name__)
def test_get_params_are_the_constructor_parameters(cls):
    names = list(inspect.signature(cls.__init__).parameters)[1:]
    assert list(cls().get_params()) == names
    assert cls.defaults() == cls().get_params()
    changed = ESTIMATORS[cls]
    params = cls(**changed).get_params()
    assert {k: params[k] for k in changed} == changed
    assert {k: v for k, v in params.items() if k not in changed} == \
        {k: v for k, v in cls.defaults().items() if k not in changed}


@pytest.mark.parametrize("cls", list(ESTIMATORS), ids=lambda c: c.__name__)
def test_repr_shows_only_changed_parameters_and_round_trips(cls):
    assert repr(cls()) == f"{cls.__name__}()"
    estimator = cls(**ESTIMATORS[cls])
    text = repr(estimator)
    for name, value in ESTIMATORS[cls].items():
        assert f"{name}={value!r}" in text
    assert text.count("=") == len(ESTIMATORS[cls])  # defaults are left out
    rebuilt = eval(text, {cls.__name__: cls})  # the repr is the constructor call
    assert rebuilt.get_params() == estimator.get_params()
    assert cls(**estimator.get_params()).get_params() == estimator.get_params()


def test_set_params_and_validate():
    projector = Projector().set_params(method="pca", seed=4)
    assert (projector.method, projector.seed) == ("pca", 4)
    assert projector.validate() is projector
    with pytest.raises(MMXError, match=r"Projector has no parameter colour; parameters: method, n_components"):
        Projector().set_params(colour="red")
    with pytest.raises(MMXError, match=r"min_cluster_size=1: must be an integer >= 2"):
        SubgenreClusterer(min_cluster_size=1).validate()
    with pytest.raises(MMXError, match=r"backend='faiss': must be one of \['auto',"):
        NeighbourIndex(backend="faiss").validate()


def test_one_constraint_vocabulary_for_the_library_and_the_cli():
    cases = ((Int(1), 0), (Int(0, 10), 11), (Real(0, 1, high_open=True), 1.0), (Real(0, low_open=True), 0.0))
    for interval, bad in cases:
        with pytest.raises(ParameterError, match=re.escape(f"x={bad!r}: must be {interval}")):
            interval.check("x", bad)
        with pytest.raises(argparse.ArgumentTypeError, match=re.escape(f"must be {interval}, got '{bad}'")):
            option_type(interval)(str(bad))
    assert str(Int(3, none=True)) == "an integer >= 3 or None" and Int(3, none=True).check("x", None) is None
    assert not any(Int(1).accepts(bad) for bad in (True, 2.0, "2", float("nan")))
    assert not any(Real(0).accepts(bad) for bad in (True, "2", float("nan"), float("inf")))
    with pytest.raises(ParameterError, match=r"^x='c': must be one of \['a', 'b'\]$"):
        Choice(("a", "b")).check("x", "c")


def test_library_checks_name_the_parameter_and_leave_flags_to_the_cli(tmp_path):
    """A library caller never typed ``--trailers``: the library names its own parameter; only commands name flags."""
    with pytest.raises(ParameterError, match=r"^n_trailers=0: must be an integer >= 1 or None$"):
        synthesize(tmp_path / "set", n_trailers=0)
    with pytest.raises(ParameterError, match=r"^workers=0: must be an integer in \[1, 64\]$"):
        with served(workers=0, password="x"):
            pass
    assert not (tmp_path / "set").exists()
    flag_check = re.compile(r"Error\(f?[\"']--[\w-]+ must be")   # a value check worded as a flag's
    library = [p for p in (ROOT / "mmx_core").rglob("*.py") if p.parent.name != "commands" and p.name != "cli.py"]
    assert [str(p) for p in library if flag_check.search(p.read_text())] == []


def test_params_base_needs_keyword_parameters_with_defaults():
    class Loose(Params):
        def __init__(self, *sizes, scale: float = 1.0):
            self.sizes, self.scale = sizes, scale

    class NoDefault(Params):
        def __init__(self, width: int):
            self.width = width

    with pytest.raises(TypeError, match=r"'sizes' must be a keyword with a default"):
        Loose().get_params()
    with pytest.raises(TypeError, match=r"'width' must be a keyword with a default"):
        NoDefault.defaults()


def test_the_cache_keys_still_read_the_estimators_parameters():
    # The shipped cache (assets/cache) is keyed on these dicts: same names, same default values
    # (the backend, "auto", is left out of the key when it runs on the CPU: explore/backends.py).
    from mmx_core.explore.backends import cache_params

    assert DEFAULT_PROJECTION["backend"] == DEFAULT_CLUSTERS["backend"] == "auto"
    assert cache_params(DEFAULT_PROJECTION, "cpu") == {
        "method": "umap", "n_components": 2, "metric": "cosine", "seed": 0, "n_neighbors": 15, "min_dist": 0.1,
        "n_epochs": 150, "init": "pca", "perplexity": 30.0, "pca_dims": 50, "exact_knn_max": 200_000}
    assert cache_params(DEFAULT_CLUSTERS, "cpu") == {
        "min_cluster_size": 40, "min_samples": 10, "selection": "leaf", "epsilon": 0.0, "space": "umap10",
        "n_components": 10, "n_neighbors": 15, "n_epochs": 60, "seed": 0}


def _parse(*argv):
    return build_parser().parse_args(list(argv))


def _help(command: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    return " ".join(out.getvalue().split())  # argparse wraps lines


def test_no_option_help_names_its_default_twice():
    # the formatter adds "(default: ...)" unless the help already says what leaving the option out means
    for command in ("ablate", "docs", "evaluate", "extract", "make-models", "score", "subgenre-eval", "train"):
        assert all(entry.count("(default") <= 1 for entry in _help(command).split(" --")), command


def test_cli_defaults_are_the_estimators_defaults():
    p = Projector.defaults()
    args = _parse("project", "--embeddings", "e.npz", "--out", "m.parquet")
    assert (args.method, args.dims, args.seed, args.n_neighbors, args.min_dist, args.perplexity, args.pca_dims) == \
        (p["method"], p["n_components"], p["seed"], p["n_neighbors"], p["min_dist"], p["perplexity"], p["pca_dims"])
    c = SubgenreClusterer.defaults()
    args = _parse("cluster", "--embeddings", "e.npz", "--out", "c.parquet")
    assert (args.min_cluster_size, args.min_samples, args.selection, args.epsilon, args.space, args.seed) == \
        (c["min_cluster_size"], c["min_samples"], c["selection"], c["epsilon"], c["space"], c["seed"])
    assert _parse("neighbours", "--embeddings", "e.npz", "--id", "x").backend == NeighbourIndex.defaults()["backend"]
    assert _parse("precompute").methods.split(",") == list(Projector.METHODS)
    with pytest.raises(SystemExit):
        with contextlib.redirect_stderr(io.StringIO()):
            _parse("project", "--embeddings", "e.npz", "--out", "m.parquet", "--method", "mds")


def test_app_defaults_are_the_estimators_defaults():
    assert PROJECTIONS == Projector.METHODS
    view = ViewState()
    assert view.projection == Projector.defaults()["method"]
    assert view.mcs == SubgenreClusterer.defaults()["min_cluster_size"]
    assert ViewState.from_params({"projection": "tsne"}).projection == "tsne"
    assert ViewState.from_params({"projection": "mds"}).warnings == (
        f"projection='mds' is not one of {Projector.METHODS}",)


def test_help_shows_each_option_default():
    text = _help("project")
    for option, value in (("--method", "umap"), ("--dims", 2), ("--n-neighbors", 15), ("--min-dist", 0.1),
                          ("--perplexity", 30.0), ("--pca-dims", 50)):
        assert f"{option} " in text and f"(default: {value})" in text
    text = _help("cluster")
    for value in (40, 10, "leaf", 0.0, "umap10"):
        assert f"(default: {value})" in text
    assert "(default: auto)" in _help("neighbours")
    # Options declared without help text still show their default (train --seed, --weight-decay).
    text = _help("train")
    assert "--seed SEED (default: 0)" in text
    assert "--weight-decay WEIGHT_DECAY (default: 0.0001)" in text
