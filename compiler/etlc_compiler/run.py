"""`etlc run SPEC`: check, plan and run a pipeline locally, without Airflow.

The same plan as the generated DAG runs through the same runtime executor. Progress is
shown live per task and step (rows, partitions, seconds) and a summary table ends the run,
followed by each step's metrics.
A failing step prints its positioned cause (spec file, line of the step) and exits 1.
The logical date is `--date` (YYYY-MM-DD) or today in UTC, at midnight UTC: a rerun on the
same day has the same logical date, so its appends replace that day's rows.
"""

from __future__ import annotations

import re
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from . import check_cache
from .compile import plan_checked, project_root
from .diagnostics import Diagnostic, render_text

CODE_RUN_FAILED = "R001"


_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class UsageError(Exception):
    pass


def parse_date(text: str) -> date:
    """`--date`: a calendar date written YYYY-MM-DD, else a UsageError."""
    if not _DATE.match(text):
        raise UsageError(f"--date expects a date as YYYY-MM-DD, got {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"--date {text!r} is not a calendar date ({exc})") from None


def logical_date(day: date | None = None) -> datetime:
    """The run's logical date: midnight UTC of `day`, or of today in UTC."""
    day = day or datetime.now(UTC).date()
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def parse_params(pairs: list[str], declared: dict[str, Any]) -> dict[str, Any]:
    """`--param NAME=VALUE` pairs, typed and checked against each param's declaration (type,
    enum, minimum/maximum, pattern) by the runtime's own check: a bad value is a usage error."""
    from etlc_runtime.errors import ParamError
    from etlc_runtime.params import check_param
    from etlc_runtime.templating import coerce_param

    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise UsageError(f"--param expects NAME=VALUE, got {pair!r}")
        name, value = pair.split("=", 1)
        if name not in declared:
            known = ", ".join(declared) or "none"
            raise UsageError(f"unknown parameter {name!r} (declared: {known})")
        definition = dict(declared[name] or {})
        definition.setdefault("type", "string")
        try:
            out[name] = check_param(name, coerce_param(name, value, definition), definition)
        except ParamError as exc:
            raise UsageError(str(exc)) from exc
    return out


class Progress:
    """Prints one line per finished step and task; on a terminal, a live line per task."""

    def __init__(self, out=sys.stderr):
        self.out = out
        self.live = out.isatty()
        self.started: dict[str, float] = {}

    def __call__(self, event: dict) -> None:
        kind = event.get("event")
        task = event.get("task")
        if kind == "run_started":
            print(f"running {event.get('pipeline')} as {event.get('run_id')}", file=self.out)
        elif kind == "task_started":
            self.started[task] = time.perf_counter()
            if self.live:
                print(f"  {task} ...", end="\r", file=self.out, flush=True)
        elif kind == "step_finished":
            rows = event.get("rows")
            secs = event.get("seconds") or 0.0
            print(f"  {task}/{event.get('step')}: {rows if rows is not None else '-'} rows"
                  f" in {secs:.2f}s", file=self.out, flush=True)
        elif kind == "task_finished":
            parts = event.get("partitions")
            print(f"✓ {task}: {event.get('rows')} rows, {parts} partition{'s' * (parts != 1)}, "
                  f"{(event.get('seconds') or 0):.2f}s", file=self.out, flush=True)
        elif kind == "task_failed":
            print(f"✗ {task}: failed", file=self.out, flush=True)
        elif kind == "task_skipped":
            print(f"- {task}: skipped (an upstream task failed)", file=self.out, flush=True)


def summary_table(summary: dict) -> str:
    rows = [("task", "status", "rows", "partitions", "seconds")]
    for t in summary["tasks"]:
        rows.append((t["task"], t["status"], str(t.get("rows", "-")), str(t.get("partitions", "-")),
                     f"{t['seconds']:.2f}" if "seconds" in t else "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def metrics_lines(summary: dict) -> list[str]:
    """Each step's metrics, as the README promises in the summary: `task/step: name = value`."""
    lines = []
    for t in summary["tasks"]:
        for step, values in (t.get("metrics") or {}).items():
            shown = ", ".join(f"{name} = {value!r}" for name, value in values.items())
            lines.append(f"  {t['task']}/{step}: {shown}")
    return ["metrics:", *lines] if lines else []


def read_error_lines(summary: dict) -> list[str]:
    """What each read's `on_error: null | skip` let through: `task: dataset.column: n nulled`."""
    lines = []
    for t in summary["tasks"]:
        for dataset, columns in (t.get("read_errors") or {}).items():
            for column, kinds in columns.items():
                shown = ", ".join(f"{n} {what}" for what, n in sorted(kinds.items()))
                where = f"{dataset} (rows)" if column == "*" else f"{dataset}.{column}"
                lines.append(f"  {t['task']}: {where}: {shown}")
    return ["values that did not convert (on_error):", *lines] if lines else []


def failure_diagnostic(error: Any, spec_path: str, fallback_line: int) -> Diagnostic:
    line = getattr(error, "line", None) or fallback_line
    step = getattr(error, "step", None)
    message = getattr(error, "message", None) or str(error)
    where = f"step '{step}' failed: " if step else ""
    return Diagnostic(spec_path, int(line), 3 if step else 1, CODE_RUN_FAILED, f"{where}{message}")


def run_command(args) -> int:
    from .console import print_diagnostics
    from .console import use_color as _use_color

    root = project_root(Path(args.spec).resolve().parent)
    checked, _cached = check_cache.check_file(args.spec, root)
    sources = {checked.path: checked.loaded.lines} if checked.loaded else {}
    if checked.diagnostics:
        print_diagnostics(list(checked.diagnostics), args.format, _use_color(args.color), sources, out=sys.stderr)
    if not checked.ok:
        return 1
    spec, loaded = checked.spec, checked.loaded
    try:
        day = parse_date(args.date) if isinstance(args.date, str) else args.date  # cli.py parses it already
        params = parse_params(args.param, dict(spec.params))
    except UsageError as exc:
        print(f"etlc run: {exc}", file=sys.stderr)
        return 2
    plan = plan_checked(checked, root)
    payload = plan.pipeline_payload() | {"project_root": str(root)}
    from etlc_runtime.local import run_pipeline

    summary = run_pipeline(payload, params=params, logical_date=logical_date(day), on_event=Progress(),
                           project_root=str(root))
    print("\n" + summary_table(summary), file=sys.stderr)
    for lines in (metrics_lines(summary), read_error_lines(summary)):
        if lines:
            print("\n" + "\n".join(lines), file=sys.stderr)
    if summary["status"] != "success":
        error = summary.get("error")
        diag = failure_diagnostic(error, checked.path, 1)
        if getattr(error, "col", None):   # R040 at the column's declaration, R041 at the expression
            cause = error.cause
            end = getattr(cause, "end_column", None)
            diag = Diagnostic(diag.path, int(error.line), int(error.col),
                              getattr(cause, "code", None) or diag.code, diag.message,
                              end_line=int(error.line) if end else None, end_col=int(end) if end else None)
        elif getattr(error, "step", None) in spec.steps:
            at = ("steps", error.step)
            if at + ("returns", getattr(error, "column", None)) in loaded.keys:   # R042
                at += ("returns", error.column)
            line, col = loaded.key_pos(at)
            cause = getattr(error, "cause", None)   # an R040 naming no column: at its read step
            code = getattr(error, "code", None) or (
                "R040" if getattr(cause, "code", None) == "R040" else diag.code)
            diag = Diagnostic(diag.path, line, col, code, diag.message)
        print("\n" + render_text(diag, loaded.lines, _use_color(args.color)), file=sys.stderr)
        return 1
    outputs = sorted({s.get("path") for t in summary["tasks"] for s in t.get("steps", []) if s.get("path")})
    print(f"\n{spec.id}: success in {summary['seconds']:.2f}s (run {summary['run_id']})", file=sys.stderr)
    for out in outputs:
        print(f"  wrote {out}", file=sys.stderr)
    return 0
