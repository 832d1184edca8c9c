"""Synergy's profiled CPU/memory sensitivity of DNN training jobs (Mohan et al., OSDI'22).

``profiles.json`` (shared/data/synergy-profiles, the authors' numbers unchanged) gives,
per model and GPU count, the training throughput per GPU at ``cpu_rows[i]`` CPUs and
``mem_gb_columns[j]`` GB per GPU, relative to the GPU-proportional share of the authors'
servers (3 CPUs and 62.5 GB per GPU). We read it as the authors' solver does: the rows
and columns are per GPU; a 4-column table starts at 62.5 GB. A 0 marks a point that
was not profiled; since a job given more than it uses can leave the rest idle, its rate
at any point is the best rate at or below that point (running maximum over both axes),
which also fills the unprofiled corners.

Jobs get a model as the authors' simulator does: a task drawn by the published split
(20 % image, 70 % language, 10 % speech: ``class_split`` in their ``runner.py``), then a
model of that task uniformly, from the models of their default zoo. Pods asking for 8
GPUs use the 4-GPU table (per GPU; nobody profiled 8); GPU shares use the 1-GPU table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TASK_SPLIT = {"image": 0.2, "language": 0.7, "speech": 0.1}
TASK_MODELS = {
    "image": ("alexnet", "res18", "res50", "mobilenet", "shufflenet"),
    "language": ("gnmt", "transformer", "lstm"),
    "speech": ("m5", "deepspeech"),
}
PROFILED_GPUS = (1, 2, 4)
GB_TO_MIB = 1024


class ProfileError(ValueError):
    """The profile file is missing or not in the documented form."""


@dataclass(frozen=True, slots=True, eq=False)
class JobProfile:
    """One model on ``gpus`` GPUs. ``rate[i, j]``: relative speed with ``cpus[i]``
    cores and ``mem_gb[j]`` GB per GPU (monotone in both)."""

    model: str
    gpus: int
    cpus: np.ndarray
    mem_gb: np.ndarray
    rate: np.ndarray

    @property
    def top(self) -> float:
        """The best rate anywhere in the table."""
        return float(self.rate[-1, -1])

    def rate_at(self, cpus_per_gpu: float, mem_gb_per_gpu: float) -> float:
        """Speed with this much per GPU; below the first row or column the job gets
        the first row's or column's rate scaled down by how far short it is."""
        i = int(np.searchsorted(self.cpus, cpus_per_gpu + 1e-9, side="right")) - 1
        j = int(np.searchsorted(self.mem_gb, mem_gb_per_gpu + 1e-9, side="right")) - 1
        scale = 1.0
        if i < 0:
            scale *= max(cpus_per_gpu, 0.0) / self.cpus[0]
        if j < 0:
            scale *= max(mem_gb_per_gpu, 0.0) / self.mem_gb[0]
        return float(self.rate[max(i, 0), max(j, 0)]) * scale


@dataclass(frozen=True, slots=True, eq=False)
class ProfileBook:
    """Every profile, by (model, GPUs)."""

    by_key: dict[tuple[str, int], JobProfile]

    def profile(self, model: str, num_gpu: int) -> JobProfile:
        """The table for ``model`` on ``num_gpu`` GPUs (see the module doc for 8)."""
        gpus = max(g for g in PROFILED_GPUS if g <= max(num_gpu, 1))
        return self.by_key[(model, gpus)]

    def assign(self, num_gpu: np.ndarray, seed: int) -> list[JobProfile | None]:
        """A profile per pod (None for CPU-only pods), drawn with ``seed``."""
        rng = np.random.default_rng(seed)
        tasks = list(TASK_SPLIT)
        weights = np.array([TASK_SPLIT[t] for t in tasks])
        out: list[JobProfile | None] = []
        for n in num_gpu:
            task = tasks[int(rng.choice(len(tasks), p=weights))]
            models = TASK_MODELS[task]
            model = models[int(rng.integers(len(models)))]
            out.append(self.profile(model, int(n)) if n > 0 else None)
        return out


def _table(entry: dict, cpu_rows: list[float], where: str) -> JobProfile:
    try:
        raw = np.array(entry["tput"], dtype=float)
        cols = [float(c) for c in entry["mem_gb_columns"]]
        model, gpus = str(entry["model"]), int(entry["gpus"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ProfileError(f"{where}: bad profile entry ({exc})") from None
    if raw.shape != (len(cpu_rows), len(cols)):
        raise ProfileError(f"{where}: tput is {raw.shape}, expected {len(cpu_rows)}x{len(cols)}")
    if len(cols) == 4:
        cols = [62.5, 125.0, 187.5, 250.0]  # the authors' solver reads 4 columns so
    rate = np.maximum.accumulate(np.maximum.accumulate(raw, axis=0), axis=1)
    return JobProfile(model, gpus, np.array(cpu_rows, dtype=float), np.array(cols), rate)


def load_profiles(path: str | Path) -> ProfileBook:
    """Read ``profiles.json``. Raises ``ProfileError`` naming the file and entry."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
        cpu_rows = [float(c) for c in doc["cpu_rows"]]
        entries = doc["profiles"]
    except FileNotFoundError:
        raise ProfileError(f"{p}: no such profile file") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProfileError(f"{p}: not a Synergy profile file ({exc})") from None
    book = {}
    for i, entry in enumerate(entries):
        prof = _table(entry, cpu_rows, f"{p}: profiles[{i}]")
        book[(prof.model, prof.gpus)] = prof
    missing = [
        (m, g)
        for ms in TASK_MODELS.values()
        for m in ms
        for g in PROFILED_GPUS
        if (m, g) not in book
    ]
    if missing:
        raise ProfileError(f"{p}: no profile for {missing[0][0]} on {missing[0][1]} GPU(s)")
    return ProfileBook(book)


def default_profiles_path() -> Path:
    """``shared/data/synergy-profiles/profiles.json`` beside the checkout."""
    return (
        Path(__file__).resolve().parents[2].parent
        / "shared"
        / "data"
        / "synergy-profiles"
        / ("profiles.json")
    )
