"""What a demo load did: rows per table and seconds per step, for the CLI and for callers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

TABLES = (
    "towns",
    "grids",
    "cameras",
    "vehicles",
    "vehicle_positions",
    "vehicle_tracks",
    "vehicle_trips",
    "river_patrol_zones",
    "events",
    "event_contacts",
    "event_actions",
    "event_cohandlers",
    "duty_rules",
    "departments",
)

LABELS = {
    "towns": "镇街 towns",
    "grids": "网格 grids",
    "cameras": "视频点位 cameras",
    "vehicles": "车辆船只 vehicles",
    "vehicle_positions": "定位点 GPS fixes",
    "vehicle_tracks": "轨迹 tracks",
    "vehicle_trips": "行程 trips",
    "river_patrol_zones": "巡河区域 river zones",
    "events": "事件工单 events",
    "event_contacts": "报告人 contacts",
    "event_actions": "处置记录 timeline",
    "event_cohandlers": "协办 co-handling",
    "duty_rules": "职责清单 duty rules",
    "departments": "部门 departments",
}


@dataclass
class DemoReport:
    """Counts per table, seconds per step; `loaded` is False when data was already there."""

    loaded: bool
    seed: int
    anchor: dt.date
    scale: float
    districts: int = 1
    counts: dict[str, int] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """Human-readable lines, Chinese first with English beside."""
        head = (
            f"演示数据已加载 — demo data loaded (seed {self.seed}, anchor {self.anchor}, "
            f"scale {self.scale}, districts {self.districts})"
            if self.loaded
            else "已有数据,未重新加载 — layers already hold data, nothing loaded (use --reload)"
        )
        out = [head]
        out += [f"  {LABELS[t]}: {self.counts.get(t, 0):,}" for t in TABLES if t in self.counts]
        if self.steps:
            out.append(
                "  用时 timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.steps.items())
            )
        out.append(f"  总用时 total: {self.seconds:.1f}s")
        return out
