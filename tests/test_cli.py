"""The command line: help for every subcommand and its options; unknown subcommands fail."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from skubridge import __version__
from skubridge.cli import app

SUBCOMMANDS = [
    "demo",
    "sync",
    "search",
    "map",
    "push",
    "relay",
    "report",
    "rerun",
    "sandbox",
    "webhooks",
]
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
