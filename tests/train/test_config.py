"""One source per default: the stage recipes fill what a caller of TrainConfig or the train command leaves unset."""

from __future__ import annotations

import argparse

import pytest

from mmx_core.base.constraints import ParameterError
from mmx_core.cli import build_parser, error_line
from mmx_core.commands.train import train_config
from mmx_core.train.config import STAGE_RECIPES, STAGES, TrainConfig


@pytest.mark.parametrize("stage", STAGES)
def test_a_config_with_only_a_stage_is_its_recipe(stage):
    config = TrainConfig(stage=stage)
    assert {name: getattr(config, name) for name in STAGE_RECIPES[stage]} == STAGE_RECIPES[stage]
    assert TrainConfig(stage=stage, epochs=3).epochs == 3                   # what is given wins


@pytest.mark.parametrize("stage", STAGES)
def test_the_train_command_defaults_are_the_recipe(stage):
    args = build_parser().parse_args(["train", "--stage", stage, "--data", "set", "--out", "run"])
    config, defaults = train_config(args), TrainConfig(stage=stage)
    assert config.to_dict() == {**defaults.to_dict(), "data": "set", "out": "run"}
    assert {name: getattr(config, name) for name in STAGE_RECIPES[stage]} == STAGE_RECIPES[stage]


def test_library_errors_name_the_parameter_and_the_cli_names_its_option(tmp_path):
    with pytest.raises(ParameterError, match=r"^batch_size=1: must be at least 2 in the fine stage") as caught:
        TrainConfig(stage="fine", data="set", out=tmp_path / "run", batch_size=1).validate()
    assert error_line(caught.value, argparse.Namespace(batch_size=1)).startswith(
        "argument --batch-size: must be at least 2 in the fine stage")
    assert error_line(caught.value, argparse.Namespace()) == str(caught.value)  # not an option of the command
