"""`onemap users add --department/--grid` and `onemap duties import|list` through CliRunner."""

from __future__ import annotations

import secrets

from click.testing import CliRunner

from gis_server.cli.main import cli
from tests.dispatch.conftest import run_sql
from tests.dispatch.test_api import duty_workbook

PASSWORD = "long enough password"


def test_users_add_with_a_department_or_grids(world) -> None:
    runner = CliRunner()
    name = f"d9-cli-{secrets.token_hex(3)}"
    r = runner.invoke(cli, ["users", "add", name, "--role", "handler", "--department", "D9-WATER",
                            "--password-stdin"], input=PASSWORD + "\n")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert run_sql(world, "SELECT role, department_code FROM users WHERE username = %s", (name,)) == [
        ("handler", "D9-WATER")]  # fmt: skip
    worker = f"d9-cli-{secrets.token_hex(3)}"
    r = runner.invoke(cli, ["users", "add", worker, "--role", "grid_worker", "--grid", "D9-A", "--grid",
                            "D9-B", "--password-stdin"], input=PASSWORD + "\n")  # fmt: skip
    assert r.exit_code == 0, r.output
    grids = run_sql(world, "SELECT g.grid_code FROM user_grids g JOIN users u ON u.id = g.user_id "
                    "WHERE u.username = %s ORDER BY 1", (worker,))  # fmt: skip
    assert grids == [("D9-A",), ("D9-B",)]
    missing = runner.invoke(cli, ["users", "add", f"d9-x-{secrets.token_hex(3)}", "--role", "handler",
                                  "--password-stdin"], input=PASSWORD + "\n")  # fmt: skip
    assert missing.exit_code != 0 and "--department" in missing.output
    unknown = runner.invoke(cli, ["users", "add", f"d9-x-{secrets.token_hex(3)}", "--role", "handler",
                                  "--department", "NOPE", "--password-stdin"], input=PASSWORD + "\n")  # fmt: skip
    assert unknown.exit_code != 0 and "NOPE" in unknown.output


def test_duties_import_and_list(world, tmp_path) -> None:
    path = tmp_path / "三定.xlsx"
    path.write_bytes(duty_workbook([["D9命令行", None, None, "D9-CITY", 48, None, None, None]]))
    r = CliRunner().invoke(cli, ["duties", "import", str(path)])
    assert r.exit_code == 0 and "1 new" in r.output, r.output
    assert run_sql(world, "SELECT department_code, time_limit_hours FROM duty_rules WHERE category = 'D9命令行'") == [
        ("D9-CITY", 48.0)]  # fmt: skip
    listed = CliRunner().invoke(cli, ["duties", "list"])
    assert "D9命令行 → D9-CITY (48 h)" in listed.output
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(duty_workbook([["D9命令行", None, None, "NOPE", 48, None, None, None]]))
    r = CliRunner().invoke(cli, ["duties", "import", str(bad)])
    assert r.exit_code != 0 and "row 2: department_code" in r.output
