"""What the coverage matrix records: the targets, its tolerances, and one `Row` of `Cell`s per zoo
entry (kept as JSON per entry). Shared by the runner (`coverage_matrix`) and the renderer (`coverage_report`)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

TARGETS = ("coreml", "tflite", "onnx")
MIN_PSNR_DB = 80.0
CONDITIONING_MARGIN_DB = 20.0  # the reference must be this much steadier than the tolerance
# Where even re-estimated statistics leave the reference less steady than that, a converter (whose
# float reorderings act like ulp-sized noise injected at every op) is judged against the reference's
# own floor: its error may be at most ~3x what a 1-ulp input change already causes.
FLOOR_SLACK_DB = 10.0


@dataclass
class Cell:
    target: str
    ok: bool
    max_abs: float | None = None
    psnr: float | None = None
    reason: str | None = None
    routes: list[str] = field(default_factory=list)  # non-native op routes the converter took
    seconds: float = 0.0


@dataclass
class Row:
    name: str
    kind: str
    what: str
    params: int | None = None
    input_shape: list[int] | None = None
    cells: dict[str, Cell] = field(default_factory=dict)
    error: str | None = None  # the model could not be built or traced at all
    reference_psnr_1ulp: float | None = None  # TF vs TF on inputs one ulp apart: the reference's own conditioning
    reference_psnr_weights_1ulp: float | None = None  # TF vs TF with weights one ulp apart (ill-conditioned rows)
    min_psnr: float = MIN_PSNR_DB  # this row's tolerance (see `row_tolerance_db`)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Row":
        cells = {t: Cell(**c) for t, c in data.pop("cells", {}).items()}
        return cls(**data, cells=cells)
