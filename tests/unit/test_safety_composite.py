"""Safety composed per category: the worst decision of the models wins, and a category
no configured model covers keeps the video in review, named in the reason."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from domain.media_scan import SafetyClassifier, SafetyDecision, SafetyReport
from inference.safety_composite import (
    CompositeSafetyClassifier,
    LazyCategoryClassifier,
    embedded_safety,
)

pytestmark = pytest.mark.unit
FRAMES = [(0.0, object())]


@dataclass
class Scripted:
    categories: tuple[str, ...]
    decision: SafetyDecision
    configured: bool = True
    calls: int = 0

    def scan(self, frames: object) -> SafetyReport:
        self.calls += 1
        return SafetyReport(tuple((c, 0.5) for c in self.categories), self.decision, True,
                            f"model-{'-'.join(self.categories)}")


def test_every_category_covered_and_allowed_is_allowed():
    port: SafetyClassifier = CompositeSafetyClassifier(
        [Scripted(("sexual",), SafetyDecision.ALLOW),
         Scripted(("violence", "gore"), SafetyDecision.ALLOW)],
        categories=("sexual", "violence", "gore"))
    report = port.scan(FRAMES)
    assert report.decision is SafetyDecision.ALLOW and report.configured
    assert dict(report.labels) == {"sexual": 0.5, "violence": 0.5, "gore": 0.5}
    assert report.model_id == "model-sexual+model-violence-gore"


def test_a_category_without_a_model_stays_in_review_and_is_named():
    composite = CompositeSafetyClassifier([Scripted(("sexual",), SafetyDecision.ALLOW)],
                                          categories=("sexual", "violence", "minors"))
    report = composite.scan(FRAMES)
    assert report.decision is SafetyDecision.REVIEW
    assert "violence, minors" in report.reason and composite.uncovered() == (
        "violence", "minors")


def test_a_block_from_any_model_blocks():
    composite = CompositeSafetyClassifier(
        [Scripted(("sexual",), SafetyDecision.BLOCK), Scripted(("violence",),
                                                               SafetyDecision.ALLOW)],
        categories=("sexual",))
    assert composite.scan(FRAMES).decision is SafetyDecision.BLOCK


def test_an_unconfigured_model_does_not_run_and_covers_nothing():
    idle = Scripted(("violence",), SafetyDecision.ALLOW, configured=False)
    composite = CompositeSafetyClassifier([idle, Scripted(("sexual",), SafetyDecision.ALLOW)],
                                          categories=("sexual", "violence"))
    report = composite.scan(FRAMES)
    assert idle.calls == 0 and report.decision is SafetyDecision.REVIEW


def test_with_no_model_at_all_the_composite_is_not_configured():
    composite = CompositeSafetyClassifier([], categories=("sexual",))
    report = composite.scan(FRAMES)
    assert not composite.configured and not report.configured
    assert report.decision is SafetyDecision.REVIEW


def test_a_lazy_model_loads_at_its_first_scan_once():
    loads: list[int] = []

    def load() -> Scripted:
        loads.append(1)
        return Scripted(("sexual",), SafetyDecision.ALLOW)

    lazy = LazyCategoryClassifier(("sexual",), load)
    composite = CompositeSafetyClassifier([lazy], categories=("sexual",))
    assert loads == [], "building it loads nothing"
    assert composite.scan(FRAMES).decision is SafetyDecision.ALLOW
    composite.scan(FRAMES)
    assert loads == [1]


def test_a_lazy_model_that_cannot_load_is_not_configured_and_says_why():
    def load() -> Scripted:
        raise ImportError("No module named 'nudenet'")

    lazy = LazyCategoryClassifier(("sexual",), load)
    composite = CompositeSafetyClassifier([lazy], categories=("sexual",),
                                          missing=("no open_clip checkpoint",))
    report = composite.scan(FRAMES)
    assert not lazy.configured and not report.configured
    assert report.decision is SafetyDecision.REVIEW
    assert "no open_clip checkpoint" in report.reason
    assert "nudenet" in lazy.scan(FRAMES).reason


def test_the_embedded_default_says_when_the_nudity_extra_is_missing(
        monkeypatch: pytest.MonkeyPatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "nudenet" else real(name, *a))
    composite = embedded_safety(missing=("no open_clip checkpoint is configured",))
    report = composite.scan(FRAMES)
    assert not composite.configured and report.decision is SafetyDecision.REVIEW
    assert "`nudity` (NudeNet) is not installed" in report.reason
    assert "no open_clip checkpoint" in report.reason
