"""The ``gdi`` command. The only place where errors become messages for people."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gdi.errors import GdiError
from gdi.private import private_dir
from gdi.settings import Settings


def _fail(exc: GdiError) -> None:
    click.secho(f"Error: {exc}", fg="red", err=True)
    if exc.hint:
        click.echo(f"  What to do: {exc.hint}", err=True)
    sys.exit(2)


def handled(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GdiError as exc:
            _fail(exc)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception:  # a bug, not bad input: short message here, details in a log file
            # internal: a traceback may quote a confidential value
            log = Settings().data_dir / "logs" / "internal" / "gdi-error.log"
            private_dir(log.parent)
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(traceback.format_exc())
            click.secho(f"Internal error (a bug, please report it); details in {log}",
                        fg="red", err=True)
            sys.exit(3)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """gdi-hildesheim: geodata and INSPIRE publication of the City of Hildesheim."""
    ctx.obj = Settings()


@main.command()
@click.argument("dataset", required=False)
@click.option("--all", "run_all", is_flag=True, help="Run every dataset in datasets/.")
@click.option("--report", type=click.Path(path_type=Path), help="Also write the JSON report here.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@click.option("--accept-drop", is_flag=True,
              help="Publish even if the guard finds the result implausible (a real drop).")
@click.pass_obj
@handled
def run(settings: Settings, dataset: str | None, run_all: bool, report: Path | None,
        quiet: bool, accept_drop: bool) -> None:
    """Run one dataset's ETL (or --all) and publish it if every check passes."""
    from gdi.descriptor import all_descriptors, find_descriptor, in_run_order, load_descriptor
    from gdi.pipeline import run_dataset

    if bool(dataset) == run_all:
        raise click.UsageError("name one dataset or give --all")
    paths = all_descriptors(settings) if run_all else [find_descriptor(str(dataset), settings)]
    reports = []
    failed = done = 0
    for desc in in_run_order([load_descriptor(p, settings) for p in paths]):
        try:
            rep = run_dataset(desc, settings, quiet=quiet, accept_drop=accept_drop)
        except GdiError as exc:
            latest = settings.data_dir / "reports" / desc.id / "latest.json"
            if latest.exists():  # a failed or refused run's report (public view)
                reports.append(json.loads(latest.read_text(encoding="utf-8")))
            if not run_all:
                if report:
                    report.write_text(json.dumps(reports[-1] if reports else {},
                                                 ensure_ascii=False, indent=1), "utf-8")
                raise
            click.secho(f"{desc.id}: failed: {exc}", fg="red", err=True)
            failed += 1
            continue
        click.echo(rep.public_view().summary())
        done += 1
        reports.append(json.loads(rep.public_view().to_json()))
    if report:
        doc = reports[0] if len(reports) == 1 and not run_all else reports
        report.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    if done:  # something was published: its extracts and metadata follow
        from gdi.metadata.catalogue import publish
        from gdi.publish import extracts

        written = extracts.publish(settings)
        click.echo(written.summary(), err=bool(written.failed))
        click.echo(publish(settings).summary())
    if failed:
        sys.exit(2)


@main.command()
@click.pass_obj
@handled
def catalogue(settings: Settings) -> None:
    """Renew the metadata catalogue (CSW) from the live releases; unchanged records stay
    byte-identical, the live catalogue stays if anything fails."""
    from gdi.metadata.catalogue import publish

    click.echo(publish(settings).summary())


@main.command(name="extracts")
@click.pass_obj
@handled
def extracts_cmd(settings: Settings) -> None:
    """Write the open-data extracts of every live release that has none yet (CSV, GeoJSON,
    GeoPackage, Shapefile, GeoParquet, FlatGeobuf, datapackage.json, checksums)."""
    from gdi.publish import extracts

    report = extracts.publish(settings)
    click.echo(report.summary())
    if report.failed:
        sys.exit(2)


@main.command()
@click.argument("dataset", default="trees")
@click.option("-n", "--count", type=int, default=None, help="Number of records.")
@click.option("--out", type=click.Path(path_type=Path), default=None)
@click.pass_obj
@handled
def sample(settings: Settings, dataset: str, count: int | None, out: Path | None) -> None:
    """Generate the deterministic sample source data of a cadastre."""
    from gdi import crs
    from gdi.samples import GENERATORS

    if dataset not in GENERATORS:
        raise click.UsageError(f"no sample generator for '{dataset}' ({', '.join(GENERATORS)})")
    crs.use_grids(settings.grid_search_path())
    folder = out or settings.sources_dir / dataset
    path = GENERATORS[dataset](folder, count) if count else GENERATORS[dataset](folder)
    click.echo(f"sample written: {path}")


@main.command()
@click.option("--port", type=int, default=None, help="Port of the front (default GDI_PORT).")
@click.option("--check", is_flag=True, help="Start, check that every service answers, stop.")
@click.pass_obj
@handled
def serve(settings: Settings, port: int | None, check: bool) -> None:
    """Serve every published dataset under one root URL on 127.0.0.1."""
    from gdi.errors import ServiceError
    from gdi.publish.server import Services

    if port is not None:
        settings = settings.model_copy(update={"port": port})
    with Services(settings) as services:
        for warning in services.warnings:
            click.secho(f"Warning: {warning}", fg="yellow", err=True)
        for name, url in services.urls().items():
            click.echo(f"  {name:28s} {url}")
        if check:
            problems = services.verify()
            if problems:
                raise ServiceError("the services answering are not all this gdi serve's: "
                                   + "; ".join(problems))
            click.echo("all services answer, and they are this gdi serve's processes")
            return
        click.echo("Ctrl+C stops the services.")
        services.wait()


@main.command("species-table")
@click.option("--table", type=click.Path(path_type=Path), default=None,
              help="The species table (default: datasets/species.csv).")
@click.pass_obj
@handled
def species_table(settings: Settings, table: Path | None) -> None:
    """Fill the species table's reference ids from the verified EUNIS link set."""
    from gdi import speciesref

    path = table or settings.datasets_dir / "species.csv"
    result = speciesref.update_table(path, speciesref.load(
        settings.shared_dir / "species-reference"))
    click.echo(f"{path}: {len(result.resolved)} taxa with a verified EUNIS id, "
               f"{len(result.conflicts)} conflicts, {len(result.missing)} not in the link set")
    for name, ids in sorted(result.conflicts.items()):
        click.echo(f"  conflict: {name}: {', '.join(ids)} (left without id)")


@main.command()
@click.argument("dataset")
@click.option("--sample", type=int, default=1000, show_default=True,
              help="Records of the source tried through cleaning and mapping.")
@click.option("--no-source", is_flag=True, help="Check the descriptor only.")
@click.pass_obj
@handled
def check(settings: Settings, dataset: str, sample: int, no_source: bool) -> None:
    """Check a descriptor and try it on its source, without publishing anything."""
    from gdi import dryrun
    from gdi.descriptor import find_descriptor, load_descriptor
    from gdi.errors import DescriptorError

    desc = load_descriptor(find_descriptor(dataset, settings), settings)
    result = dryrun.check(desc, settings, sample=sample, source=not no_source)
    for line in result.lines:
        click.echo(line)
    if result.problems:
        raise DescriptorError(f"{desc.id}: " + "; ".join(result.problems),
                              hint="correct the descriptor or the export, then check again")


if __name__ == "__main__":  # pragma: no cover
    main()
