"""Pipeline configuration: the shipped default and the errors that name the bad key."""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from services.opportunity.pipeline import (
    ForecastCategory,
    PipelineError,
    StageType,
    load_pipelines,
    parse_pipelines,
)


def _base() -> dict[str, Any]:
    def stage(name: str, order: int, p: str, cat: str, kind: str) -> dict[str, Any]:
        body = {"name": name, "order": order, "probability": p}
        body |= {"forecast_category": cat, "type": kind}
        return body | ({"days_to_stall": 7} if kind == "open" else {})

    return {
        "lost_reasons": ["price", "competitor"],
        "pipelines": [
            {
                "name": "smb",
                "stages": [
                    stage("new", 1, "0.2", "Pipeline", "open"),
                    stage("won", 2, "1", "Closed", "won"),
                    stage("lost", 3, "0", "Omitted", "lost"),
                ],
            }
        ],
    }


def test_default_file_loads_the_b2b_pipeline_in_order() -> None:
    """The shipped pipelines.yaml holds the seven B2B stages sorted by order."""
    pipeline = load_pipelines().get_default()
    assert pipeline.name == "b2b"
    assert [s.name for s in pipeline.stages] == [
        "qualification",
        "discovery",
        "demo",
        "proposal",
        "negotiation",
        "closed_won",
        "closed_lost",
    ]
    assert pipeline.first_stage.name == "qualification"
    assert pipeline.won_stage.forecast_category is ForecastCategory.CLOSED
    assert pipeline.lost_stage.type is StageType.LOST
    assert pipeline.stage("negotiation") is not None
    assert "price" in pipeline.lost_reasons


def test_probabilities_are_exact_decimals_rising_through_open_stages() -> None:
    """Probabilities parse to exact Decimals and rise stage by stage."""
    stages = [s for s in load_pipelines().get_default().stages if s.is_open]
    assert stages[0].probability == Decimal("0.10")
    assert [s.probability for s in stages] == sorted(s.probability for s in stages)


def test_yaml_float_probability_is_not_binary_noise() -> None:
    """A YAML float 0.1 becomes Decimal('0.1'), not its binary expansion."""
    data = _base()
    data["pipelines"][0]["stages"][0]["probability"] = 0.1
    assert parse_pipelines(data).get_default().first_stage.probability == Decimal("0.1")


def test_stages_are_sorted_by_order_not_file_position() -> None:
    """Stages listed out of order come back sorted by their order key."""
    data = _base()
    data["pipelines"][0]["stages"].reverse()
    assert [s.name for s in parse_pipelines(data).get_default().stages] == [
        "new",
        "won",
        "lost",
    ]


def test_single_pipeline_is_the_default_without_naming_it() -> None:
    """With one pipeline, default_pipeline may be left out."""
    assert parse_pipelines(_base()).default == "smb"


def test_several_pipelines_and_per_pipeline_lost_reasons() -> None:
    """A second pipeline may have its own lost reasons; select falls back to default."""
    data = _base()
    second = copy.deepcopy(data["pipelines"][0])
    second |= {"name": "renewal", "lost_reasons": ["churned"]}
    data["pipelines"].append(second)
    data["default_pipeline"] = "smb"
    config = parse_pipelines(data)
    assert config.select("renewal").lost_reasons == ("churned",)
    assert config.select(None).lost_reasons == ("price", "competitor")
    assert config.select("nope").name == "smb"


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        target: Any = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return mutate


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        target: Any = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        del target[last]

    return mutate


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (_set("pipelines/0/stages/0/probability", "1.5"), "stages[0].probability"),
        (_set("pipelines/0/stages/0/probability", "abc"), "stages[0].probability"),
        (_set("pipelines/0/stages/0/probability", True), "stages[0].probability"),
        (_set("pipelines/0/stages/0/forecast_category", "Maybe"), "forecast_category"),
        (_set("pipelines/0/stages/0/forecast_category", "Closed"), "forecast_category"),
        (_set("pipelines/0/stages/0/type", "pending"), "stages[0].type"),
        (_set("pipelines/0/stages/0/order", "first"), "stages[0].order"),
        (_set("pipelines/0/stages/0/days_to_stall", 0), "days_to_stall"),
        (_set("pipelines/0/stages/0/days_to_stall", -0.5), "days_to_stall"),
        (_set("pipelines/0/stages/0/days_to_stall", "soon"), "days_to_stall"),
        (_set("pipelines/0/stages/0/days_to_stall", True), "days_to_stall"),
        (_drop("pipelines/0/stages/0/days_to_stall"), "days_to_stall"),
        (_set("pipelines/0/stages/1/days_to_stall", 5), "stages[1].days_to_stall"),
        (_set("pipelines/0/stages/1/probability", "0.9"), "stages[1].probability"),
        (_set("pipelines/0/stages/1/name", "new"), "pipelines[0].stages"),
        (_set("pipelines/0/stages/1/order", 1), "pipelines[0].stages"),
        (_set("pipelines/0/stages/1/type", "lost"), "pipelines[0].stages"),
        (_set("pipelines/0/stages/0/stall_days", 3), "stages[0].stall_days"),
        (_drop("pipelines/0/stages/0/name"), "stages[0].name"),
        (_set("pipelines/0/name", ""), "pipelines[0].name"),
        (_set("pipelines/0/stages", []), "pipelines[0].stages"),
        (_set("lost_reasons", ["price", "price"]), "lost_reasons"),
        (_drop("lost_reasons"), "lost_reasons"),
        (_set("default_pipeline", "enterprise"), "default_pipeline"),
        (_set("pipeline", []), "pipeline"),
    ],
)
def test_invalid_configuration_names_the_bad_key(mutate: Callable[[dict[str, Any]], None], key: str) -> None:
    """Each invalid configuration raises a PipelineError naming the offending key."""
    data = _base()
    mutate(data)
    with pytest.raises(PipelineError) as raised:
        parse_pipelines(data)
    assert key in str(raised.value).split(":")[0]


def test_root_must_be_a_mapping() -> None:
    """A YAML list at the top level is refused."""
    with pytest.raises(PipelineError, match="must be a mapping"):
        parse_pipelines(["pipelines"])


def test_unreadable_file_is_a_pipeline_error(tmp_path: Path) -> None:
    """Broken YAML and missing files both surface as PipelineError with the path."""
    broken = tmp_path / "broken.yaml"
    broken.write_text("pipelines: [\n", encoding="utf-8")
    with pytest.raises(PipelineError, match=r"broken\.yaml"):
        load_pipelines(broken)
    with pytest.raises(PipelineError, match=r"missing\.yaml"):
        load_pipelines(tmp_path / "missing.yaml")


def test_days_to_stall_may_be_a_fraction() -> None:
    """A fractional days_to_stall is kept exactly and turned into hours."""
    data = _base()
    data["pipelines"][0]["stages"][0]["days_to_stall"] = 0.25
    stage = parse_pipelines(data).get_default().stages[0]
    assert stage.days_to_stall == Decimal("0.25")
    assert stage.stall_after is not None and stage.stall_after.total_seconds() == 6 * 3600
