"""The `etlc` command line: validate, compile, run, explain, clean, convert, schema.

Exit codes: 0 clean (warnings allowed), 1 diagnostics (or a failed run), 2 usage: every
argument error (unknown option, a bad `--date` or `--param`) is one line on stderr and exit 2.
Imports stay lazy so that a cold `etlc validate` starts fast: every subcommand's arguments are
declared here, and a command's module is imported only when that command runs (`etlc run`
does not pay for explain's or convert's imports).
"""

from __future__ import annotations

import argparse
import os
import sys


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2); subcommand parsers inherit it."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _date_arg(text: str):
    from .run import UsageError, parse_date

    try:
        return parse_date(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--date ")) from None


def _param_arg(text: str) -> str:
    name, eq, _ = text.partition("=")
    if not eq or not name.strip():
        raise argparse.ArgumentTypeError(f"expects NAME=VALUE, got {text!r}")
    return text


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="etlc", description="Declarative YAML pipelines compiled to Airflow DAGs.")
    p.add_argument("--version", action="version", version=f"etlc {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    fmt = argparse.ArgumentParser(add_help=False)
    fmt.add_argument("--format", choices=("text", "json", "github"), default="text",
                     help="how diagnostics are printed (default: text)")
    fmt.add_argument("--color", choices=("auto", "always", "never"), default="auto")

    v = sub.add_parser("validate", parents=[fmt], help="check specs and print file:line:col diagnostics")
    v.add_argument("paths", nargs="+", help="spec files or folders (searched for *.yaml, *.yml)")
    v.add_argument("--strict", action="store_true", help="treat warnings as errors")

    c = sub.add_parser("compile", parents=[fmt], help="write one Airflow DAG file per spec")
    c.add_argument("paths", nargs="*", default=["specs"], help="spec files or folders (default: specs)")
    c.add_argument("-o", "--output", help="output folder (default: [tool.etlc] output, else generated_dags)")
    c.add_argument("--check", action="store_true", help="write nothing; exit 1 if a generated file is stale or missing")

    r = sub.add_parser("run", parents=[fmt], help="run a pipeline locally, without Airflow")
    r.add_argument("spec", help="the spec file")
    r.add_argument("--param", action="append", default=[], metavar="K=V", type=_param_arg,
                   help="set a run parameter")
    r.add_argument("--date", type=_date_arg, help="logical date, YYYY-MM-DD (default: today, in UTC)")

    sub.add_parser("schema", help="print the spec language's JSON Schema")

    k = sub.add_parser("clean", help="remove etlc's staging runs and leftover temporaries")
    k.add_argument("target", nargs="?", default=".", metavar="SPEC_OR_PROJECT",
                   help="a spec file or the project folder (default: .)")
    k.add_argument("--older-than", metavar="DURATION", help="only what was last written before (7d, 12h, 0)")
    k.add_argument("--dry-run", action="store_true", help="print what would be removed; remove nothing")

    e = sub.add_parser("explain", help="each DAG-level value of a spec and where it came from "
                                       "(the spec, a shared defaults.yaml, a default)")
    e.add_argument("spec", help="the spec file")
    e.add_argument("--format", choices=("text", "json"), default="text")
    e.add_argument("--color", choices=("auto", "always", "never"), default="auto")

    d = sub.add_parser("convert", help="write etlc specs from dag-factory YAML files")
    d.add_argument("kind", choices=("dag-factory",), help="the format of the files")
    d.add_argument("files", nargs="+", help="dag-factory YAML files")
    d.add_argument("-o", "--output", default="specs", help="folder the specs are written to (default: specs)")
    return p


def _version() -> str:
    from .version import etlc_version

    return etlc_version()


def _use_color(choice: str) -> bool:
    from .console import use_color

    return use_color(choice)


def print_diagnostics(diags, fmt: str, color: bool, sources: dict[str, list[str]], out=None) -> None:
    from .console import print_diagnostics as _print

    _print(diags, fmt, color, sources, out)


def cmd_validate(args) -> int:
    from .api import check_paths
    from .check_cache import check_in_project
    from .diagnostics import Diagnostic

    results, extra = check_paths(args.paths, check_in_project)
    # a shared defaults.yaml's diagnostic comes with each spec below it: shown once
    diags = sorted(set([d for r in results for d in r.diagnostics] + extra), key=Diagnostic.sort_key)
    sources = {r.path: r.loaded.lines for r in results if r.loaded is not None}
    print_diagnostics(diags, args.format, _use_color(args.color), sources)
    errors = sum(d.is_error for d in diags)
    warnings = len(diags) - errors
    if args.format == "text":
        print(f"checked {len(results)} spec{'s' * (len(results) != 1)}: "
              f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}", file=sys.stderr)
    if not results and not diags:
        print("etlc: no spec files found", file=sys.stderr)
        return 2
    return 1 if errors or (args.strict and warnings) else 0


def cmd_schema(_args) -> int:
    from .schema_check import schema_text

    sys.stdout.write(schema_text())
    return 0


def cmd_compile(args) -> int:
    from .compile import compile_command

    return compile_command(args)


def cmd_clean(args) -> int:
    from .clean import clean_command

    return clean_command(args)


def cmd_run(args) -> int:
    from .run import run_command

    return run_command(args)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    handler = {"validate": cmd_validate, "schema": cmd_schema, "compile": cmd_compile, "run": cmd_run,
               "clean": cmd_clean, "explain": lambda a: __import__("etlc_compiler.explain").explain.command(a),
               "convert": lambda a: __import__("etlc_compiler.convert").convert.command(a)}[args.command]
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("etlc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # the environment, not etlc: a folder that cannot be written, a full disk
        if os.environ.get("ETLC_DEBUG"):
            raise
        where = f" {exc.filename}" if exc.filename else ""
        print(f"etlc {args.command}: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        if os.environ.get("ETLC_DEBUG"):
            raise
        print(f"etlc: internal error: {type(exc).__name__}: {exc}\n"
              "  this is a bug in etlc; set ETLC_DEBUG=1 to see the traceback and please report it",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
