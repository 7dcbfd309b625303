"""`consentry projections rebuild`: replays the event log into the read models, with a
progress bar. PostgreSQL views are emptied first; in-memory views are rebuilt at every
start anyway, so there the command checks that the whole log replays cleanly."""

from __future__ import annotations

import asyncio

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from adapters.bootstrap import bootstrap
from adapters.read_side import ReadSide


async def rebuild(only: list[str] | None = None) -> dict[str, int]:
    container = bootstrap()
    read_side = ReadSide(container.settings, container.app)
    try:
        views = await read_side.open()
        runner = read_side.runner
        assert runner is not None
        chosen = [v for v in views.all() if not only or v.name in only]
        unknown = set(only or ()) - {v.name for v in views.all()}
        if unknown:
            raise SystemExit(f"unknown view(s): {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(v.name for v in views.all())}")
        for view in chosen:
            reset = getattr(view, "reset", None)
            if reset is not None:
                await reset()
        runner.views = list(chosen)  # processes do not act during a rebuild
        runner.position = 0
        total = container.app.recorder.max_notification_id() or 0
        with Progress("[progress.description]{task.description}", BarColumn(),
                      MofNCompleteColumn(), TimeRemainingColumn()) as progress:
            task = progress.add_task("replaying events", total=total)
            await runner.catch_up(lambda position, _: progress.update(task, completed=position))
        return {view.name: await view.position() for view in chosen}
    finally:
        await read_side.close()
        container.close()


def run(only: list[str] | None = None) -> dict[str, int]:
    return asyncio.run(rebuild(only))
