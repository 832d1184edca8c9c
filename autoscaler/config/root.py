"""The whole configuration document, with the checks that span its sections."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from autoscaler.config.base import FrozenModel, loc_to_path
from autoscaler.config.cloud import (
    CloudConfig,
    DaemonConfig,
    FlavorConfig,
    HostGroupConfig,
    PlacementConfig,
    SimulationConfig,
)
from autoscaler.config.coordination import CoordinationConfig
from autoscaler.config.cross_checks import (
    named_group_problems,
    placement_problems,
    reference_problems,
    victims_problems,
)
from autoscaler.config.groups import GroupConfig
from autoscaler.config.serving import ServingConfig


class Config(FrozenModel):
    version: Literal[1] = 1
    flavors: dict[str, FlavorConfig] = Field(default_factory=lambda: {"m1.small": FlavorConfig()})
    cloud: CloudConfig = CloudConfig()
    simulation: SimulationConfig = SimulationConfig()
    daemon: DaemonConfig = DaemonConfig()
    coordination: CoordinationConfig = CoordinationConfig()
    hosts: list[HostGroupConfig] = Field(default_factory=list)
    placement: PlacementConfig = PlacementConfig()
    groups: list[GroupConfig] = Field(default_factory=list)
    # A GPU inference serving scenario (``simulate`` replays its request trace).
    serving: ServingConfig | None = None

    @model_validator(mode="after")
    def _references(self) -> Config:
        problems = reference_problems([(g.name, g.flavor) for g in self.groups], set(self.flavors))
        problems += placement_problems(
            [(g.placement, g.flavor) for g in self.groups],
            self.flavors,
            self.hosts,
            self.cloud.kind,
        )
        problems += victims_problems([g.victims for g in self.groups], self.cloud.kind)
        served = self.serving.group if self.serving is not None else None
        maps = {"heat": self.cloud.heat, "senlin": self.cloud.senlin}
        problems += named_group_problems([g.name for g in self.groups], maps, served)
        if problems:
            raise ValueError("; ".join(f"{loc_to_path(loc)}: {msg}" for loc, msg in problems))
        return self

    def group(self, name: str) -> GroupConfig:
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(name)
