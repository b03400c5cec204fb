"""Pipeline configuration: stages, win probabilities, forecast categories, lost reasons.

Validates the whole file at start and fails with a PipelineError naming the bad key;
it reads only the file it is given, never the environment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

import yaml

DEFAULT_PIPELINES_FILE = Path(__file__).with_name("pipelines.yaml")

_SECONDS_PER_DAY = 86_400
_T = TypeVar("_T")
_E = TypeVar("_E", bound=StrEnum)
_TOP_KEYS = frozenset({"default_pipeline", "lost_reasons", "pipelines"})
_PIPELINE_KEYS = frozenset({"name", "stages", "lost_reasons"})
_STAGE_KEYS = frozenset({"name", "order", "probability", "forecast_category", "type", "days_to_stall"})


class PipelineError(ValueError):
    """The configuration is invalid; the message starts with the offending key."""


class ForecastCategory(StrEnum):
    PIPELINE = "Pipeline"
    BEST_CASE = "Best Case"
    COMMIT = "Commit"
    CLOSED = "Closed"
    OMITTED = "Omitted"


# A deal still open cannot be forecast as closed; a closed one is Closed or left out.
_OPEN_CATEGORIES = frozenset(ForecastCategory) - {ForecastCategory.CLOSED}
_CLOSED_CATEGORIES = frozenset({ForecastCategory.CLOSED, ForecastCategory.OMITTED})


class StageType(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


@dataclass(frozen=True)
class Stage:
    """One stage; days_to_stall is None exactly for closed (won or lost) stages.

    days_to_stall may be fractional (0.5 is twelve hours), so short test pipelines can stall.
    """

    name: str
    order: int
    probability: Decimal
    forecast_category: ForecastCategory
    type: StageType
    days_to_stall: Decimal | None

    @property
    def is_open(self) -> bool:
        return self.type is StageType.OPEN

    @property
    def stall_after(self) -> timedelta | None:
        """How long a deal may sit in this stage untouched; None for closed stages."""
        if self.days_to_stall is None:
            return None
        return timedelta(seconds=float(self.days_to_stall * _SECONDS_PER_DAY))


@dataclass(frozen=True)
class Pipeline:
    """A validated pipeline: stages sorted by order, one won and one lost stage."""

    name: str
    stages: tuple[Stage, ...]
    lost_reasons: tuple[str, ...]

    def stage(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)

    @property
    def first_stage(self) -> Stage:
        return next(s for s in self.stages if s.is_open)

    @property
    def won_stage(self) -> Stage:
        return next(s for s in self.stages if s.type is StageType.WON)

    @property
    def lost_stage(self) -> Stage:
        return next(s for s in self.stages if s.type is StageType.LOST)


@dataclass(frozen=True)
class PipelineConfig:
    """Every configured pipeline and the one a deal gets when it names none."""

    default: str
    pipelines: tuple[Pipeline, ...]

    def get(self, name: str) -> Pipeline | None:
        return next((p for p in self.pipelines if p.name == name), None)

    def select(self, name: str | None) -> Pipeline:
        """The named pipeline, else the default; apply_command rejects the mismatch."""
        found = self.get(name) if name is not None else None
        return found or self.get_default()

    def get_default(self) -> Pipeline:
        return next(p for p in self.pipelines if p.name == self.default)


def load_pipelines(path: Path = DEFAULT_PIPELINES_FILE) -> PipelineConfig:
    """Read and validate a pipelines YAML file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise PipelineError(f"{path}: cannot be read as YAML: {error}") from error
    return parse_pipelines(data)


def parse_pipelines(data: object) -> PipelineConfig:
    """Validate an already-parsed configuration mapping."""
    top = _mapping(data, "<root>", _TOP_KEYS)
    shared_reasons = top.get("lost_reasons")
    items = _sequence(_required(top, "pipelines", ""), "pipelines")
    pipelines = tuple(_pipeline(item, f"pipelines[{i}]", shared_reasons) for i, item in enumerate(items))
    _unique([p.name for p in pipelines], "pipelines", "name")
    return PipelineConfig(_default_name(top, pipelines), pipelines)


def _default_name(top: Mapping[str, object], pipelines: tuple[Pipeline, ...]) -> str:
    if "default_pipeline" not in top and len(pipelines) == 1:
        return pipelines[0].name
    name = _text(_required(top, "default_pipeline", ""), "default_pipeline")
    if name not in {p.name for p in pipelines}:
        raise PipelineError(f"default_pipeline: names no configured pipeline: {name!r}")
    return name


def _pipeline(data: object, path: str, shared_reasons: object) -> Pipeline:
    body = _mapping(data, path, _PIPELINE_KEYS)
    name = _text(_required(body, "name", path), f"{path}.name")
    items = _sequence(_required(body, "stages", path), f"{path}.stages")
    stages = tuple(_stage(s, f"{path}.stages[{i}]") for i, s in enumerate(items))
    _check_stages(stages, f"{path}.stages")
    reasons = _reasons(body, path, shared_reasons)
    return Pipeline(name, tuple(sorted(stages, key=lambda s: s.order)), reasons)


def _reasons(body: Mapping[str, object], path: str, shared: object) -> tuple[str, ...]:
    own = "lost_reasons" in body
    where = f"{path}.lost_reasons" if own else "lost_reasons"
    raw = body["lost_reasons"] if own else shared
    if raw is None:
        raise PipelineError(f"{where}: is required (top level or per pipeline)")
    reasons = tuple(_text(r, f"{where}[{i}]") for i, r in enumerate(_sequence(raw, where)))
    _unique(list(reasons), where, "reason")
    return reasons


def _stage(data: object, path: str) -> Stage:
    body = _mapping(data, path, _STAGE_KEYS)

    def field(key: str, convert: Callable[[object, str], _T]) -> _T:
        return convert(_required(body, key, path), f"{path}.{key}")

    stage_type = field("type", _enum(StageType))
    stage = Stage(
        name=field("name", _text),
        order=field("order", _integer),
        probability=field("probability", _probability),
        forecast_category=field("forecast_category", _enum(ForecastCategory)),
        type=stage_type,
        days_to_stall=_days_to_stall(body.get("days_to_stall"), stage_type, path),
    )
    _check_category(stage, path)
    return stage


def _days_to_stall(value: object, stage_type: StageType, path: str) -> Decimal | None:
    where = f"{path}.days_to_stall"
    if stage_type is not StageType.OPEN:
        if value is not None:
            raise PipelineError(f"{where}: only open stages can stall")
        return None
    if value is None:
        raise PipelineError(f"{where}: is required for an open stage")
    days = _decimal(value)
    if days is None or not days.is_finite() or days <= 0:
        raise PipelineError(f"{where}: must be a number of days above 0, got {value!r}")
    return days


def _check_category(stage: Stage, path: str) -> None:
    allowed = _OPEN_CATEGORIES if stage.is_open else _CLOSED_CATEGORIES
    if stage.forecast_category not in allowed:
        got = stage.forecast_category.value
        raise PipelineError(f"{path}.forecast_category: {got!r} unfit for a {stage.type} stage")
    fixed = {StageType.WON: Decimal(1), StageType.LOST: Decimal(0)}.get(stage.type)
    if fixed is not None and stage.probability != fixed:
        raise PipelineError(f"{path}.probability: a {stage.type} stage must have {fixed}")


def _check_stages(stages: tuple[Stage, ...], path: str) -> None:
    _unique([s.name for s in stages], path, "name")
    _unique([s.order for s in stages], path, "order")
    for stage_type, wanted in (
        (StageType.OPEN, None),
        (StageType.WON, 1),
        (StageType.LOST, 1),
    ):
        found = sum(1 for s in stages if s.type is stage_type)
        if found == 0 or (wanted is not None and found != wanted):
            need = "at least one" if wanted is None else "exactly one"
            raise PipelineError(f"{path}: needs {need} {stage_type} stage, found {found}")


def _unique(values: Sequence[object], path: str, what: str) -> None:
    seen: set[object] = set()
    for value in values:
        if value in seen:
            raise PipelineError(f"{path}: duplicate {what} {value!r}")
        seen.add(value)


def _mapping(data: object, path: str, allowed: frozenset[str]) -> Mapping[str, object]:
    if not isinstance(data, Mapping):
        raise PipelineError(f"{path}: must be a mapping, got {type(data).__name__}")
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        prefix = "" if path == "<root>" else f"{path}."
        raise PipelineError(f"{prefix}{unknown[0]}: unknown key")
    return {str(k): v for k, v in data.items()}


def _required(body: Mapping[str, object], key: str, path: str) -> object:
    where = f"{path}.{key}" if path else key
    if body.get(key) is None:
        raise PipelineError(f"{where}: is required")
    return body[key]


def _sequence(data: object, path: str) -> Sequence[object]:
    if not isinstance(data, list) or not data:
        raise PipelineError(f"{path}: must be a non-empty list")
    return data


def _text(data: object, path: str) -> str:
    if not isinstance(data, str) or not data.strip():
        raise PipelineError(f"{path}: must be a non-empty string, got {data!r}")
    return data


def _integer(data: object, path: str) -> int:
    # bool is an int subclass; `order: yes` is a typo, not 1.
    if isinstance(data, bool) or not isinstance(data, int):
        raise PipelineError(f"{path}: must be an integer, got {data!r}")
    return data


def _decimal(data: object) -> Decimal | None:
    """A number from YAML as an exact Decimal; None for anything else (bools included)."""
    if isinstance(data, bool) or not isinstance(data, int | float | str):
        return None
    try:
        # str() first: YAML 0.1 must become Decimal("0.1"), not its binary expansion.
        return Decimal(str(data))
    except InvalidOperation:
        return None


def _probability(data: object, path: str) -> Decimal:
    value = _decimal(data)
    if value is None or not value.is_finite() or not Decimal(0) <= value <= Decimal(1):
        raise PipelineError(f"{path}: must be a number between 0 and 1, got {data!r}")
    return value


def _enum(kind: type[_E]) -> Callable[[object, str], _E]:
    def convert(data: object, path: str) -> _E:
        for member in kind:
            if member.value == data:
                return member
        allowed = ", ".join(repr(m.value) for m in kind)
        raise PipelineError(f"{path}: {data!r} is not one of {allowed}")

    return convert
