"""`onemap users …` and `onemap keys …` through click's CliRunner."""

from __future__ import annotations

import secrets

import pytest
from click.testing import CliRunner

from gis_server.cli.main import cli

PASSWORD = "long enough password"


@pytest.fixture()
def run(db_dsn):  # noqa: ANN201 - db_dsn points settings at the test database
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):  # noqa: A002, ANN202
        return runner.invoke(cli, list(args), input=input)

    return invoke


def _name() -> str:
    return f"cli-{secrets.token_hex(4)}"


def test_users_add_list_disable(run, client):
    name = _name()
    r = run(
        "users",
        "add",
        name,
        "--role",
        "gis_editor",
        "--name",
        "李四",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert r.exit_code == 0, r.output
    assert f"created user {name} (gis_editor)" in r.output and "已创建用户" in r.output

    listed = run("users", "list")
    assert listed.exit_code == 0
    line = next(x for x in listed.output.splitlines() if x.startswith(name))
    assert "gis_editor" in line and "active" in line and "李四" in line

    login = {"username": name, "password": PASSWORD}
    assert client.post("/api/auth/login", json=login).status_code == 200

    r = run("users", "disable", name)
    assert r.exit_code == 0 and f"disabled user {name}" in r.output
    line = next(x for x in run("users", "list").output.splitlines() if x.startswith(name))
    assert "disabled" in line
    assert client.get("/api/auth/me").status_code == 401  # the session ended
    assert client.post("/api/auth/login", json=login).status_code == 401


def test_users_add_prompts_twice(run):
    name = _name()
    r = run("users", "add", name, "--role", "viewer", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    assert PASSWORD not in r.output  # hidden input is not echoed


def test_duplicate_user_is_a_clear_error(run):
    name = _name()
    assert (
        run("users", "add", name, "--role", "viewer", "--password-stdin", input=PASSWORD).exit_code
        == 0
    )
    r = run("users", "add", name.upper(), "--role", "admin", "--password-stdin", input=PASSWORD)
    assert r.exit_code == 1
    assert "用户已存在" in r.output and "already exists" in r.output


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("--role", "viewer"), "short\n", "at least 10 characters"),
        (("--role", "emperor"), PASSWORD, "emperor"),
    ],
)
def test_bad_password_or_role(run, args, stdin, message):
    r = run("users", "add", _name(), *args, "--password-stdin", input=stdin)
    assert r.exit_code != 0 and message in r.output


def test_disable_unknown_user_fails(run):
    r = run("users", "disable", "no-such-user")
    assert r.exit_code == 1 and "no user" in r.output


def test_keys_issue_list_revoke(run, client):
    name = _name()
    run("users", "add", name, "--role", "dispatcher", "--password-stdin", input=PASSWORD)
    r = run("keys", "issue", "--user", name, "--name", "12345热线", "--expires", "30")
    assert r.exit_code == 0, r.output
    key = r.output.strip().splitlines()[-1]
    key_id = key.split("_")[1]
    assert key.startswith("om_") and f"issued key {key_id}" in r.output
    assert "will not be shown again" in r.output

    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200 and me.json()["username"] == name

    listed = run("keys", "list", "--user", name)
    assert listed.exit_code == 0 and key_id in listed.output and "active" in listed.output
    assert key.split("_", 2)[2] not in listed.output  # the secret is never shown again

    r = run("keys", "revoke", key_id)
    assert r.exit_code == 0 and f"revoked key {key_id}" in r.output
    assert "revoked" in run("keys", "list", "--user", name).output
    assert client.get("/api/auth/me", headers={"X-API-Key": key}).status_code == 401


def test_keys_issue_scoped(run, client):
    name = _name()
    run("users", "add", name, "--role", "gis_editor", "--password-stdin", input=PASSWORD)
    args = ("keys", "issue", "--user", name, "--name", "scoped")
    r = run(*args, "--role", "viewer", "--collections", "cameras, grids")
    assert r.exit_code == 0, r.output
    key = r.output.strip().splitlines()[-1]
    me = client.get("/api/auth/me", headers={"X-API-Key": key}).json()
    assert me["role"] == "viewer" and me["collections"] == ["cameras", "grids"]
    listed = run("keys", "list", "--user", name).output
    assert "role viewer" in listed and "collections cameras,grids" in listed
    r = run(*args, "--role", "admin")  # never above the user's role
    assert r.exit_code == 1 and "cannot be above" in r.output
    assert run(*args, "--collections", " , ").exit_code == 1
    assert run(*args, "--role", "chief").exit_code == 2


def test_keys_errors(run):
    r = run("keys", "issue", "--user", "no-such-user", "--name", "x")
    assert r.exit_code == 1 and "no active user" in r.output
    assert run("keys", "revoke", "0123456789ab").exit_code == 1
    r = run("keys", "issue", "--user", "x", "--name", "x", "--expires", "0")
    assert r.exit_code == 2  # click rejects it before touching the database


def test_cli_changes_are_audited(run, db):
    name = _name()
    run("users", "add", name, "--role", "viewer", "--password-stdin", input=PASSWORD)
    with db.cursor() as cur:
        cur.execute(
            "SELECT actor, action, after FROM audit_log WHERE layer = 'users' AND feature_id = %s",
            (name,),
        )
        actor, action, after = cur.fetchone()
    assert actor.startswith("cli:") and action == "user.add"
    assert after == {"username": name, "role": "viewer", "display_name": None}


def test_users_district_scope(run, client):
    name = _name()
    r = run("users", "add", name, "--role", "dispatcher", "--district", "320612",
            "--password-stdin", input=PASSWORD)  # fmt: skip
    assert r.exit_code == 0, r.output
    line = next(x for x in run("users", "list").output.splitlines() if x.startswith(name))
    assert "district 320612" in line
    key = run("keys", "issue", "--user", name, "--name", "t").output.strip().splitlines()[-1]
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {key}"}).json()
    assert me["district_code"] == "320612"
    assert run("users", "district", name, "city").exit_code == 0
    line = next(x for x in run("users", "list").output.splitlines() if x.startswith(name))
    assert "district" not in line
    bad = run("users", "add", _name(), "--role", "viewer", "--district", "Haimen",
              "--password-stdin", input=PASSWORD)  # fmt: skip
    assert bad.exit_code != 0 and "6-digit" in bad.output
    assert run("users", "district", name, "32061").exit_code == 1
