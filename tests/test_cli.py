"""The command line: help for every subcommand; unbuilt features say so and exit non-zero."""

from __future__ import annotations

import importlib
import inspect

import pytest
from typer.testing import CliRunner

from skubridge import __version__
from skubridge.cli import app

SUBCOMMANDS = ["demo", "sync", "search", "map", "push", "relay", "report", "rerun", "sandbox"]
SANDBOX_COMMANDS = ["serve", "generate"]

runner = CliRunner()


def test_root_help_lists_every_subcommand():
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "shops.toml" in result.output
    for name in SUBCOMMANDS:
        assert name in result.output


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_subcommand_help(name):
    result = runner.invoke(app, [name, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and name in result.output


@pytest.mark.parametrize("name", SANDBOX_COMMANDS)
def test_sandbox_subcommand_help(name):
    result = runner.invoke(app, ["sandbox", name, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "--seed" in result.output


def test_unknown_subcommand_fails():
    result = runner.invoke(app, ["frobnicate"])
    assert result.exit_code != 0


def _unbuilt() -> list[str]:
    out = []
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"skubridge.commands.{name}")
        main = getattr(module, "main", None)
        if main is not None and "not_built(" in inspect.getsource(main):
            out.append(name)
    return out


def test_an_unbuilt_subcommand_says_so():
    unbuilt = _unbuilt()
    if not unbuilt:
        pytest.skip("every subcommand is built")
    result = runner.invoke(app, [unbuilt[0]])
    assert result.exit_code == 3
    assert "not built yet" in result.output


def test_not_built_helper_exits_3_with_a_plain_message():
    import typer

    from skubridge.commands import not_built

    probe = typer.Typer()

    @probe.command()
    def feature() -> None:
        not_built("probe feature")

    result = runner.invoke(probe, [])
    assert result.exit_code == 3
    assert "skubridge probe feature: not built yet" in result.output
