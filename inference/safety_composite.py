"""Output safety composed per category: each category is judged by the models that cover
it; a category no configured model covers keeps the video in review (fail closed), so a
model added for one category never lets the others through unexamined."""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable, Sequence

from domain.media_scan import (
    CategorySafetyClassifier,
    Frames,
    SafetyDecision,
    SafetyReport,
)

__all__ = ["SAFETY_CATEGORIES", "CompositeSafetyClassifier", "LazyCategoryClassifier",
           "embedded_safety"]

log = logging.getLogger(__name__)

# The categories a published video is judged on (SPEC §3 SAFETY).
SAFETY_CATEGORIES = ("sexual", "violence", "gore", "weapons", "self_harm", "hate_symbols",
                     "minors")
_ORDER = {SafetyDecision.ALLOW: 0, SafetyDecision.REVIEW: 1, SafetyDecision.BLOCK: 2}


class CompositeSafetyClassifier:
    """`SafetyClassifier` over per-category classifiers. Each configured classifier runs
    once; the decision is the worst of theirs, and `review` at best while any category
    in `categories` has no configured classifier (named in the report's reason). With
    no configured classifier at all it reports itself not configured. `missing`: why
    models that could cover more are absent (a checkpoint not configured), in the reason."""

    def __init__(self, classifiers: Sequence[CategorySafetyClassifier],
                 categories: Sequence[str] = SAFETY_CATEGORIES,
                 missing: Sequence[str] = ()) -> None:
        self.classifiers = tuple(classifiers)
        self.categories = tuple(categories)
        self.missing = tuple(missing)

    @property
    def configured(self) -> bool:
        return any(c.configured for c in self.classifiers)

    def uncovered(self) -> tuple[str, ...]:
        covered = {cat for c in self.classifiers if c.configured for cat in c.categories}
        return tuple(cat for cat in self.categories if cat not in covered)

    def scan(self, frames: Frames) -> SafetyReport:
        running = [c for c in self.classifiers if c.configured]
        if not running:
            return SafetyReport((), SafetyDecision.REVIEW, configured=False,
                                reason="; ".join(("no safety model covers any category: "
                                                  + ", ".join(self.categories),
                                                  *self.missing)))
        labels: list[tuple[str, float]] = []
        decision = SafetyDecision.ALLOW
        models, reasons = [], []
        for classifier in running:
            report = classifier.scan(frames)
            if not report.configured:
                reasons.append(f"{report.model_id or 'a model'}: {report.reason}")
                decision = max(decision, SafetyDecision.REVIEW, key=_ORDER.__getitem__)
                continue
            labels.extend(report.labels)
            models.append(report.model_id)
            decision = max(decision, report.decision, key=_ORDER.__getitem__)
            if report.reason:
                reasons.append(report.reason)
        missing = self.uncovered()
        if missing:
            decision = max(decision, SafetyDecision.REVIEW, key=_ORDER.__getitem__)
            reasons.append("no model covers " + ", ".join(missing) + ": a person looks")
            reasons.extend(self.missing)
        return SafetyReport(tuple(labels), decision, True, "+".join(models),
                            "; ".join(reasons))


class LazyCategoryClassifier:
    """A `CategorySafetyClassifier` built at its first use, so that starting a process costs
    nothing; one that cannot load is not configured, with the reason, for good (the
    composite then holds its categories for review)."""

    def __init__(self, categories: Sequence[str],
                 load: Callable[[], CategorySafetyClassifier]) -> None:
        self.categories = tuple(categories)
        self._load = load
        self._model: CategorySafetyClassifier | None = None
        self.reason = ""
        self._lock = threading.Lock()

    def _loaded(self) -> CategorySafetyClassifier | None:
        from inference.pinned import ModelUnavailableError

        with self._lock:
            if self._model is None and not self.reason:
                try:
                    self._model = self._load()
                except (ImportError, ModelUnavailableError, OSError, RuntimeError) as exc:
                    log.error("a safety model did not load: %s", exc)
                    self.reason = f"{type(exc).__name__}: {exc}"
            return self._model

    @property
    def configured(self) -> bool:
        return self._loaded() is not None

    def scan(self, frames: Frames) -> SafetyReport:
        model = self._loaded()
        if model is None:
            return SafetyReport((), SafetyDecision.REVIEW, configured=False,
                                reason=self.reason)
        return model.scan(frames)


def embedded_safety(*others: CategorySafetyClassifier,
                    missing: Sequence[str] = ()) -> CompositeSafetyClassifier:
    """Every category model that can run here: NudeNet for "sexual" when the optional
    `nudity` extra is installed (loaded at the first scan), plus `others` (the open_clip
    labels when a checkpoint is configured). Categories left without a model stay in
    review; `missing` says why models are absent."""
    classifiers: list[CategorySafetyClassifier] = list(others)
    notes = list(missing)
    if importlib.util.find_spec("nudenet") is not None:
        def nudenet() -> CategorySafetyClassifier:
            from inference.safety_nudenet import NudeNetSafetyClassifier

            return NudeNetSafetyClassifier()

        classifiers.append(LazyCategoryClassifier(("sexual",), nudenet))
    else:
        notes.append("the optional extra `nudity` (NudeNet) is not installed")
    return CompositeSafetyClassifier(classifiers, missing=notes)
