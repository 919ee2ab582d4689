"""The deterministic demo dataset of Haimen District: `load_demo(dsn, ...)` fills every layer."""

from etl.demo.load import load_demo
from etl.demo.report import DemoReport

__all__ = ["DemoReport", "load_demo"]
