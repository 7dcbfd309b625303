"""Output safety composed per category: each category is judged by the models that cover
it; a category no configured model covers keeps the video in review (fail closed), so a
model added for one category never lets the others through unexamined."""

from __future__ import annotations

from collections.abc import Sequence

from domain.media_scan import (
    CategorySafetyClassifier,
    Frames,
    SafetyDecision,
    SafetyReport,
)

__all__ = ["SAFETY_CATEGORIES", "CompositeSafetyClassifier"]

# The categories a published video is judged on (SPEC §3 SAFETY).
SAFETY_CATEGORIES = ("sexual", "violence", "gore", "weapons", "self_harm", "hate_symbols",
                     "minors")
_ORDER = {SafetyDecision.ALLOW: 0, SafetyDecision.REVIEW: 1, SafetyDecision.BLOCK: 2}


class CompositeSafetyClassifier:
    """`SafetyClassifier` over per-category classifiers. Each configured classifier runs
    once; the decision is the worst of theirs, and `review` at best while any category
    in `categories` has no configured classifier (named in the report's reason). With
    no configured classifier at all it reports itself not configured."""

    def __init__(self, classifiers: Sequence[CategorySafetyClassifier],
                 categories: Sequence[str] = SAFETY_CATEGORIES) -> None:
        self.classifiers = tuple(classifiers)
        self.categories = tuple(categories)

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
                                reason="no safety model covers any category: "
                                       + ", ".join(self.categories))
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
        return SafetyReport(tuple(labels), decision, True, "+".join(models),
                            "; ".join(reasons))


def embedded_safety(*others: CategorySafetyClassifier) -> CompositeSafetyClassifier:
    """Every category model that can run here: NudeNet for "sexual" when the optional
    `nudity` extra is installed, plus `others` (e.g. the open_clip labels when a
    checkpoint is configured). Categories left without a model stay in review."""
    import logging

    from inference.pinned import ModelUnavailableError

    classifiers: list[CategorySafetyClassifier] = list(others)
    try:
        from inference.safety_nudenet import NudeNetSafetyClassifier

        classifiers.append(NudeNetSafetyClassifier())
    except (ImportError, ModelUnavailableError) as exc:
        logging.getLogger(__name__).info("no nudity model (optional extra): %s", exc)
    return CompositeSafetyClassifier(classifiers)
