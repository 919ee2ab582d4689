"""What every reader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import CRS


@dataclass
class Source:
    """A file read into memory.

    rows: the number a person finds the record by (spreadsheet line, or
    1-based feature number). geom_errors: per-row reason why a geometry could
    not be built from the file (bad coordinate text), else None.
    """

    path: Path
    attributes: pd.DataFrame
    geometry: np.ndarray | None  # shapely geometries (object), None if the file has none
    crs: CRS | None
    rows: np.ndarray
    table: str | None = None
    encoding: str | None = None
    geom_errors: list[str | None] | None = None
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.attributes)
