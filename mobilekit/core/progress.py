"""Progress reporting for long stages: rich bars on stderr, or nothing (--quiet / --json)."""
from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def stage(self, message: str) -> None: ...
    def progress(self, task: str, done: int, total: int) -> None: ...
    def warn(self, message: str) -> None: ...
    def close(self) -> None: ...


class SilentReporter:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def stage(self, message: str) -> None:
        pass

    def progress(self, task: str, done: int, total: int) -> None:
        pass

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def close(self) -> None:
        pass


class RichReporter:
    """Stage lines and one progress bar per task, all on stderr so stdout stays machine-readable."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self._bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                              console=self.console, transient=False)
        self._tasks: dict[str, int] = {}
        self._started = False

    def stage(self, message: str) -> None:
        self.console.print(f"[bold]•[/bold] {message}")

    def progress(self, task: str, done: int, total: int) -> None:
        if not self._started:
            self._bars.start()
            self._started = True
        if task not in self._tasks:
            self._tasks[task] = self._bars.add_task(task, total=total)
        self._bars.update(self._tasks[task], completed=done, total=total)

    def warn(self, message: str) -> None:
        self.console.print(f"[yellow]warning:[/yellow] {message}")

    def close(self) -> None:
        if self._started:
            self._bars.stop()
