"""What the tests share: services, builders (factories.py), clients and helpers."""

from pathlib import Path

# Sample inputs the tests read (bounce reports, ...).
FIXTURES_DIR = Path(__file__).parent.parent / "fixtures"
