"""Mass configuration reports a refused rule with the same code as the API: the domain error's
(telecom/errors.py). Its other codes describe the file itself (a missing column, a duplicate
row), which no service raises."""

import ast
from pathlib import Path

from telecom.errors import domain_error_codes

MASS_CONFIG = Path(__file__).resolve().parents[3] / "licensing" / "mass_config"
ERROR_CALLS = {"RowError", "_file_error", "error"}


def reported_codes() -> set[str]:
    """Every code literal given to a row error, whatever the module builds it in."""
    codes = set()
    for module in MASS_CONFIG.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in ERROR_CALLS:
                continue
            arguments = [*node.args, *(k.value for k in node.keywords if k.arg == "code")]
            codes |= {
                a.value
                for a in arguments
                if isinstance(a, ast.Constant)
                and isinstance(a.value, str)
                and a.value.isidentifier()
                and a.value.islower()
                and "_" in a.value
            }
    return codes


def test_codes_of_refused_rules_are_the_domain_errors():
    rules = reported_codes() & set(domain_error_codes())

    assert rules >= {
        "account_restricted",
        "addon_not_allowed",
        "licence_full",
        "no_licence_available",
        "number_change_limit_reached",
        "number_unavailable",
        "plan_number_limit_reached",
    }


def test_every_other_code_is_about_the_file_not_a_rule():
    about_the_file = reported_codes() - set(domain_error_codes())

    assert about_the_file == {
        "ambiguous_user",
        "duplicate_column",
        "duplicate_extension",
        "duplicate_number",
        "empty_file",
        "file_too_large",
        "too_many_rows",
        "invalid_encoding",
        "invalid_extension",
        "invalid_file",
        "invalid_number",
        "member_deactivated",
        "missing_header",
        "not_csv",
        "too_many_errors",
        "unexpected_value",
        "unknown_addon",
        "unknown_column",
        "unknown_user",
    }
