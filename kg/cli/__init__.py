"""The ``kg`` command: thin commands over the library, and the exit codes.

Exit codes: 0 done; 1 ``kg validate`` found violations; 2 bad input (file,
query); 3 ``--strict`` refused the source; 4 the store cannot be used (busy,
disk full); 5 the validator itself broke. Errors are one line on stderr,
never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from kg.cli import harvest
from kg.cli.output import Progress, cell_text, changes_text, print_summary, table
from kg.errors import KgError, QueryError
from kg.malloc import allocator, serve_environment
from kg.settings import SETTINGS, Settings, load_settings

RESULT_FORMATS = ("table", "json", "xml", "csv", "tsv", "ttl", "nt", "rdf", "jsonld")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ValueError as exc:
        print(f"kg: bad setting: {exc}", file=sys.stderr)
        return 2
    if not settings.debug:
        _quiet_libraries()
    try:
        return args.run(args, settings)
    except KgError as exc:
        print(f"kg: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("kg: interrupted; the store is as it was", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `kg export | head`: the reader has what it wanted
        sys.stderr.close()
        return 0
    except Exception as exc:  # a bug: say so in one line, the traceback only on request
        if settings.debug:
            raise
        print(
            f"kg: internal error ({type(exc).__name__}: {exc}); the store is as it was. "
            "Set KG_DEBUG=1 for the traceback and please report it.",
            file=sys.stderr,
        )
        return 70


def _quiet_libraries() -> None:
    """Nothing but our own report reaches the terminal: the libraries' warnings and log records
    (rdflib's "does not look like a valid URI", its traceback for a date it cannot read, pyshacl's
    notes) say what the report already says, in their words. Worker processes inherit this.
    ``KG_DEBUG=1`` lets them through."""
    logging.captureWarnings(True)
    for name in ("rdflib", "pyshacl", "py.warnings", "urllib3", "owlrl"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.CRITICAL)
        logger.propagate = False
    warnings.filterwarnings("ignore", module=r"(rdflib|pyshacl|owlrl|pyrudof)(\.|$)")


def _parser() -> argparse.ArgumentParser:
    settings_help = "\n".join(f"  {s.name} (default {s.default!r}): {s.help}" for s in SETTINGS)
    parser = argparse.ArgumentParser(
        prog="kg",
        description="Agency knowledge graph: ingest, validate, query, export and serve.",
        epilog="settings (environment variables):\n" + settings_help,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="read, map, validate and store a source (replaces it atomically)")
    p.add_argument(
        "path",
        help="a CSV folder, a data.json, a CKAN JSON file, an RDF file, or a URL: a CKAN portal, "
        "or with --format a document (a paged RDF catalogue followed to its end)",
    )
    p.add_argument("--source", help="source name (default: from the file name)")
    p.add_argument("--format", dest="fmt", help="csv, data.json, ckan, rdf (or ttl, nt, nq, jsonld, xml)")
    p.add_argument("--strict", action="store_true", help="refuse the whole source if any record is invalid")
    p.add_argument("-v", "--verbose", action="store_true", help="list every quarantined record's findings")
    p.set_defaults(run=cmd_ingest)

    p = sub.add_parser(
        "validate", help="the SHACL report of a source, without storing (exit 1 on violations)"
    )
    p.add_argument("path")
    p.add_argument("--format", dest="fmt")
    p.add_argument("-v", "--verbose", action="store_true", help="list every finding")
    p.set_defaults(run=cmd_validate)

    harvest.add_parser(sub)

    p = sub.add_parser("sources", help="list the sources in the store, with their last harvest")
    p.set_defaults(run=cmd_sources)

    p = sub.add_parser("remove", help="drop a source's graphs")
    p.add_argument("name")
    p.set_defaults(run=cmd_remove)

    p = sub.add_parser("query", help="run a SPARQL query against the store")
    p.add_argument("sparql", help="the query, or @FILE to read it from a file")
    p.add_argument("--format", dest="fmt", default="table", choices=RESULT_FORMATS)
    p.set_defaults(run=cmd_query)

    p = sub.add_parser("export", help="the DCAT-AP catalogue (or --full: every graph)")
    p.add_argument(
        "--format", dest="fmt", default="ttl", choices=("ttl", "jsonld", "rdf", "nt", "nq", "trig")
    )
    p.add_argument("-o", "--output", help="file to write (default: standard output)")
    p.add_argument("--full", action="store_true", help="dump every graph (needs --format nq or trig)")
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("backup", help="copy the published store into a new folder (Oxigraph backup)")
    p.add_argument("dir")
    p.set_defaults(run=cmd_backup)

    p = sub.add_parser("restore", help="publish a backup as the store's new state")
    p.add_argument("dir")
    p.set_defaults(run=cmd_restore)

    p = sub.add_parser("serve", help="serve the web app under gunicorn")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--reload", action="store_true", help="development: reload on code changes")
    p.set_defaults(run=cmd_serve)
    return parser


# ---------------------------------------------------------------- commands


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    progress = Progress()
    summary = _ingest_path(args, settings, progress, source=args.source, strict=args.strict)
    progress.done()
    print_summary(summary, verbose=args.verbose)
    return 0


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    progress = Progress()
    summary = _ingest_path(args, settings, progress, store_it=False)
    progress.done()
    print_summary(summary, verbose=args.verbose)
    return 1 if summary.quarantined else 0


def _ingest_path(args: argparse.Namespace, settings: Settings, progress: Progress, **options: object):  # noqa: ANN202
    """The path ingested (or validated); a URL fetched first as ``kg harvest`` fetches it."""
    from kg.ingest.run import ingest

    if not args.path.startswith(("http://", "https://")):
        return ingest(args.path, settings=settings, fmt=args.fmt, progress=progress, **options)
    from kg.harvest.fetch import fetched_once

    with fetched_once(args.path, args.fmt, settings) as found:
        return ingest(
            found.location, settings=settings, fmt=found.fmt, origin=args.path, progress=progress, **options
        )


def cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    from kg.ingest.sources import list_sources
    from kg.store.harvest_state import load_states

    rows = {r["source"]: r for r in list_sources(settings=settings)}
    states = load_states(settings.store)
    if not rows and not states:
        print("no sources yet: kg ingest PATH or kg harvest SOURCES.toml")
        return 0
    header = ["source", "format", "published", "quarantined", "violations", "warnings", "last run", "from"]
    if states:
        header += ["last harvest", "outcome", "added/changed/removed/unchanged", "next run"]
    lines = []
    for name in sorted(rows.keys() | states.keys()):
        r = rows.get(name)
        if r:
            counts = [r[k] for k in ("fmt", "published", "quarantined", "violations", "warnings")]
            line = [name, *counts, r["ended"][:19], r["location"]]
        else:  # harvested, never published: a first harvest failed
            line = [name, *["-"] * 6, states[name].url]
        state = states.get(name)
        if state:
            line += [
                state.attempted[:19],
                state.outcome,
                changes_text(state.changes),
                state.next_run[:19] or "-",
            ]
        elif states:
            line += ["", "", "", ""]
        lines.append(line)
    table(header, lines)
    failed = [s for _, s in sorted(states.items()) if s.outcome == "failed"]
    if failed:
        print("\nlast harvest failed (the source is as it was before):")
        for state in failed:
            print(f"  {state.name}: {state.reason}")
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from kg.ingest.sources import remove_source

    if remove_source(args.name, settings=settings):
        print(f"removed source {args.name}")
        return 0
    print(f"kg: no source named {args.name!r} (see kg sources)", file=sys.stderr)
    return 2


def cmd_query(args: argparse.Namespace, settings: Settings) -> int:
    from kg.factory import store_for
    from kg.store.results import is_boolean, is_graph, serialize_results

    sparql = args.sparql
    if sparql.startswith("@"):
        try:
            sparql = Path(sparql[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise QueryError(f"cannot read {sparql[1:]}: {exc.strerror}") from exc
    result = store_for(settings).query(sparql)
    fmt = args.fmt
    if is_boolean(result):
        if fmt == "table":
            print("true" if bool(result) else "false")
            return 0
        fmt = fmt if fmt in ("json", "xml", "csv", "tsv") else "json"
    elif is_graph(result):
        fmt = fmt if fmt in ("ttl", "nt", "rdf", "jsonld") else "ttl"
    elif fmt == "table":
        variables = [v.value for v in result.variables]
        table(variables, [[cell_text(row[v]) for v in variables] for row in result])
        return 0
    elif fmt not in ("json", "xml", "csv", "tsv"):
        raise QueryError(f"a SELECT result cannot be written as {fmt}")
    serialize_results(result, sys.stdout.buffer, fmt)
    sys.stdout.flush()
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from kg.catalog import export
    from kg.factory import store_for

    try:
        if args.output:
            try:
                out = open(args.output, "wb")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise QueryError(f"{args.output}: cannot write: {exc.strerror}") from exc
            with out:
                export(store_for(settings), settings, out, fmt=args.fmt, full=args.full)
        else:
            export(store_for(settings), settings, sys.stdout.buffer, fmt=args.fmt, full=args.full)
            sys.stdout.flush()
    except ValueError as exc:
        raise QueryError(str(exc)) from exc
    return 0


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from kg.factory import store_for

    generation = store_for(settings).backup(args.dir)
    print(f"backed up generation {generation} of {settings.store} into {args.dir}")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from kg.factory import store_for

    generation = store_for(settings).restore(args.dir)
    print(f"restored {args.dir} into {settings.store} as generation {generation}")
    return 0


WORKER_CLASS = "kg.web.worker.Worker"  # uvicorn (uvloop, httptools) under gunicorn: kg.web.worker
APP = "app:front"  # the ASGI front (kg.web.front) before the Flask app


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Replace this process with gunicorn serving ``app:front`` with uvicorn workers (the production
    settings); tests/live.py starts the same command line."""
    root = Path(__file__).resolve().parents[2]  # the checkout: app.py, which gunicorn imports
    argv = [
        "gunicorn",
        "--chdir",
        str(root),
        "--bind",
        f"{args.host}:{args.port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        WORKER_CLASS,
        "--config",
        "python:kg.gunicorn_conf",
        "--timeout",
        str(int(settings.query_timeout) + 30),
    ]
    if args.reload:
        argv.append("--reload")
    argv.append(APP)
    _upgrade_derived(settings)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    env = serve_environment(settings.malloc, os.environ)
    env["KG_STORE"] = str(Path(settings.store).resolve())  # gunicorn runs in root, not the caller's folder
    library = allocator(settings.malloc)
    print(
        f"serving {settings.store} on http://{args.host}:{args.port}/ "
        f"(gunicorn, {args.workers} uvicorn workers, allocator: {library or 'the C library'})",
        file=sys.stderr,
    )
    os.execve(str(gunicorn), argv, env)
    return 0  # not reached


def _upgrade_derived(settings: Settings) -> None:
    """Derive the pages' tables again when another version of this code made them (a new generation,
    :func:`kg.derived.build.upgrade`), so that an upgraded server serves every page at once. A store
    that cannot be written (read-only, busy) is served as it is: its aggregate pages answer 503
    until the next write."""
    if settings.remote:
        return  # the remote store's derived files are rebuilt with its next version
    from kg.derived.build import minted_elsewhere, upgrade
    from kg.errors import StoreError
    from kg.factory import store_for

    try:
        store = store_for(settings)
        elsewhere = minted_elsewhere(store, settings.base_uri)
        if elsewhere:
            print(
                f"kg: warning: {elsewhere}; its derived data is left as it is (set KG_BASE_URI to the "
                "base it was ingested with: under another one its pages do not resolve)",
                file=sys.stderr,
            )
            return
        found = upgrade(store)
    except (StoreError, OSError) as exc:
        print(f"kg: the derived data is not this version's and cannot be made again: {exc}", file=sys.stderr)
        return
    if found is not None:
        print(f"kg: the derived data (version {found}) was made again for this version", file=sys.stderr)
