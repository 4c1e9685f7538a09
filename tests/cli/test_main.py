"""Errors at the command line give command-line advice, not Python's."""

from __future__ import annotations

import pytest

from bspandas.cli import main


@pytest.mark.parametrize(
    ("argv", "slug"),
    [
        (["query", "account", "ootb_acount_name", "--sandbox", "--dry-run"], "ootb_acount_name"),
        (["query", "account", "zzzz_nothing", "--sandbox", "--dry-run"], "zzzz_nothing"),
        (["catalog", "probe", "account", "ootb_acount_name", "--sandbox"], "ootb_acount_name"),
    ],
)
def test_an_unknown_metric_is_explained_in_cli_usage(
    argv: list[str], slug: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"bspandas: UnknownMetricError: Unknown metric {slug!r}")
    assert "bspandas catalog search WORDS" in err
    assert "bspandas catalog probe account SLUG" in err
    assert "bspandas.catalog" not in err  # Python calls have no place in a shell
    assert "must start with" not in err  # CRM fields (..__c) are custom slugs too
    assert len(err.strip().splitlines()) == 1


def test_a_typo_still_gets_its_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "account", "ootb_acount_name", "--sandbox", "--dry-run"]) == 2
    assert "Did you mean: ootb_account_name" in capsys.readouterr().err


def test_an_unknown_custom_slug_says_how_custom_slugs_are_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["query", "account", "custom_acount_nps", "--sandbox", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "custom_account_..., derived_account_... or a CRM field ...__c" in err
    assert "bspandas.catalog.register" not in err
