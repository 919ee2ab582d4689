"""The dispatch API end to end against the real app: queues, detail, actions, duty list, nearby."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from gis_server.auth import Role
from tests.dispatch.conftest import auth, run_sql
from tests.dispatch.test_intake import ticket


@pytest.fixture(scope="module")
def keys(make_key):  # noqa: ANN001, ANN201
    return {
        "reporter": auth(make_key(Role.REPORTER)),
        "dispatcher": auth(make_key(Role.DISPATCHER)),
        "water": auth(make_key(Role.HANDLER, department="D9-WATER")),
        "city": auth(make_key(Role.HANDLER, department="D9-CITY")),
        "worker": auth(make_key(Role.GRID_WORKER, grids=("D9-A",))),
        "admin": auth(make_key(Role.ADMIN)),
        "viewer": auth(make_key(Role.VIEWER)),
    }


def submit(client, world, keys, **extra) -> dict:  # noqa: ANN001, ANN003
    r = client.post("/api/events", json=ticket(world, **extra), headers=keys["reporter"])
    assert r.status_code == 201, r.text
    return r.json()


def act(client, keys, who: str, code: str, **body):  # noqa: ANN001, ANN003, ANN201
    return client.post(f"/api/events/{code}/actions", json=body, headers=keys[who])


def test_handling_an_event_over_http(client, world, keys) -> None:
    code = submit(client, world, keys)["code"]
    assert act(client, keys, "city", code, action="accept").status_code == 403  # other department
    r = act(client, keys, "water", code, action="accept", expected_version=1)
    assert r.status_code == 200 and r.json()["status"] == "accepted" and r.headers["etag"] == '"v2"'
    stale = client.post(f"/api/events/{code}/actions", json={"action": "resolve"},
                        headers={**keys["water"], "If-Match": '"v1"'})  # fmt: skip
    assert stale.status_code == 412 and stale.json()["current_version"] == 2
    wrong = act(client, keys, "water", code, action="close")
    assert wrong.status_code == 409
    assert wrong.json()["current_status"] == "accepted"
    assert wrong.json()["allowed_actions"] == ["cohandle", "resolve", "return"]
    assert (
        act(client, keys, "water", code, action="resolve", note="已打捞").json()["status"]
        == "resolved"
    )
    assert (
        act(client, keys, "water", code, action="verify").status_code == 403
    )  # not the handler's step
    assert act(client, keys, "dispatcher", code, action="verify").status_code == 200
    bad = act(client, keys, "dispatcher", code, action="callback", satisfaction="so-so")
    assert bad.status_code == 400 and bad.json()["parameter"] == "satisfaction"
    assert (
        act(
            client, keys, "dispatcher", code, action="callback", satisfaction="satisfied"
        ).status_code
        == 200
    )
    closed = act(client, keys, "dispatcher", code, action="close")
    assert closed.json()["status"] == "closed" and closed.json()["allowed_actions"] == [
        "callback",
        "reopen",
    ]
    detail = client.get(f"/api/events/{code}", headers=keys["dispatcher"]).json()
    assert [s["action"] for s in detail["timeline"]] == [
        "receive",
        "auto_dispatch",
        "accept",
        "resolve",
        "verify",
        "callback",
        "close",
    ]
    assert detail["reporter"] == {"name": "王女士", "phone": "13900001111"}


def test_reporter_contact_only_for_dispatchers_and_admins(client, world, keys) -> None:
    code = submit(client, world, keys)["code"]
    for who in ("water", "worker"):
        r = client.get(f"/api/events/{code}", headers=keys[who])
        assert r.status_code == 200 and "reporter" not in r.json() and "13900001111" not in r.text
    assert (
        client.get(f"/api/events/{code}", headers=keys["admin"]).json()["reporter"]["phone"]
        == "13900001111"
    )
    assert client.get(f"/api/events/{code}", headers=keys["city"]).status_code == 404  # not theirs
    assert client.get(f"/api/events/{code}", headers=keys["viewer"]).status_code == 403


def test_queues_filters_and_paging(client, world, keys) -> None:
    manual = submit(client, world, keys, category="D9无规则")["code"]
    returned = submit(client, world, keys)["code"]
    act(client, keys, "water", returned, action="return", note="非本局")
    late = submit(client, world, keys)["code"]
    run_sql(world, "UPDATE events SET due_at = now() - interval '1 hour' WHERE code = %s", (late,))

    def codes(who: str, **params) -> list[str]:  # noqa: ANN003
        r = client.get("/api/events", params={"limit": 200, "category": params.pop("category", None) or "D9河道",
                                               **params}, headers=keys[who])  # fmt: skip
        assert r.status_code == 200, r.text
        return [e["code"] for e in r.json()["events"]]

    assert manual in codes("dispatcher", queue="manual", category="D9无规则")
    assert returned in codes("dispatcher", queue="returned") and late not in codes(
        "dispatcher", queue="returned"
    )
    overdue = codes("dispatcher", queue="overdue")
    assert late in overdue and returned not in overdue
    assert late in codes("water", queue="mine") and manual not in codes(
        "water", queue="mine", category="D9无规则"
    )
    assert codes("city", queue="mine") == []
    page = client.get(
        "/api/events", params={"queue": "all", "limit": 1, "offset": 1}, headers=keys["dispatcher"]
    )
    assert (
        page.json()["limit"] == 1 and len(page.json()["events"]) == 1 and page.json()["total"] > 1
    )
    for params, name in (
        ({"queue": "someday"}, "queue"),
        ({"status": "lost"}, "status"),
        ({"limit": 0}, "limit"),
    ):
        r = client.get("/api/events", params=params, headers=keys["dispatcher"])
        assert r.status_code == 400 and r.json()["parameter"] == name


def test_departments_and_duty_rules_are_admin_edited(client, world, keys) -> None:
    dept = {"code": "D9-MARKET", "name": "测试市场监管局", "kind": "bureau", "phone": "0513-1"}
    assert client.post("/api/departments", json=dept, headers=keys["dispatcher"]).status_code == 403
    assert client.post("/api/departments", json=dept, headers=keys["admin"]).status_code == 201
    rule = {"category": "D9无证", "department_code": "D9-MARKET", "time_limit_hours": 48}
    created = client.post("/api/duty-rules", json=rule, headers=keys["admin"])
    assert created.status_code == 201, created.text
    ev = submit(client, world, keys, category="D9无证")
    assert ev["department_code"] == "D9-MARKET" and ev["status"] == "dispatched"
    bad = client.post(
        "/api/duty-rules", json={**rule, "department_code": "NOPE"}, headers=keys["admin"]
    )
    assert bad.status_code == 400 and bad.json()["parameter"] == "department_code"
    rid = created.json()["id"]
    assert client.put(f"/api/duty-rules/{rid}", json={**rule, "time_limit_hours": 24},
                      headers=keys["admin"]).json()["time_limit_hours"] == 24  # fmt: skip
    assert (
        client.delete("/api/departments/D9-MARKET", headers=keys["admin"]).status_code == 400
    )  # has rules
    assert client.delete(f"/api/duty-rules/{rid}", headers=keys["admin"]).status_code == 204
    assert client.delete("/api/departments/D9-MARKET", headers=keys["admin"]).status_code == 204
    audited = run_sql(world, "SELECT count(*) FROM audit_log WHERE layer IN ('departments', 'duty_rules') "
                      "AND feature_id IN ('D9-MARKET', %s)", (str(rid),))  # fmt: skip
    assert audited[0][0] >= 4


def duty_workbook(rows: list[list]) -> bytes:  # noqa: ANN001
    book = Workbook()
    sheet = book.active
    sheet.append(
        ["大类", "小类", "镇街", "责任部门编码", "时限(小时)", "紧急时限", "特事特办", "备注"]
    )
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_duty_rules_import_from_xlsx(client, world, keys) -> None:
    xlsx = {"Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    data = duty_workbook([["D9导入", None, None, "D9-CITY", 96, 12, "是", "三定"], [None] * 8,
                          ["D9导入", "井盖", None, "D9-WATER", 24, None, "否", None]])  # fmt: skip
    r = client.post("/api/duty-rules/import", content=data, headers={**keys["admin"], **xlsx})
    assert r.status_code == 200 and r.json() == {"rows": 2, "inserted": 2, "updated": 0}, r.text
    again = client.post("/api/duty-rules/import", content=data, headers={**keys["admin"], **xlsx})
    assert again.json() == {"rows": 2, "inserted": 0, "updated": 2}
    rows = run_sql(world, "SELECT subcategory, department_code, same_day FROM duty_rules "
                   "WHERE category = 'D9导入' ORDER BY subcategory NULLS FIRST")  # fmt: skip
    assert rows == [(None, "D9-CITY", True), ("井盖", "D9-WATER", False)]
    bad = duty_workbook([["D9导入", None, None, "D9-CITY", 96, None, None, None],
                         ["D9导入", "x", None, "NOPE", 24, None, None, None]])  # fmt: skip
    r = client.post("/api/duty-rules/import", content=bad, headers={**keys["admin"], **xlsx})
    assert r.status_code == 400 and r.json()["parameter"] == "row 3: department_code"
    assert client.post("/api/duty-rules/import", content=b"not a workbook",
                       headers={**keys["admin"], **xlsx}).status_code == 400  # fmt: skip
    assert (
        client.post("/api/duty-rules/import", content=data, headers=keys["admin"]).status_code
        == 415
    )


def test_nearby_resources_and_the_grid_workers_phone(client, world, keys) -> None:
    code = submit(client, world, keys)["code"]
    r = client.get(f"/api/events/{code}/nearby", headers=keys["water"])
    assert r.status_code == 200
    body = r.json()
    assert body["grid_worker"] == {"grid_code": "D9-A", "name": "员A", "phone": "13800009999"}
    assert len(body["cameras"]) == 5 and all("stream_url" in c for c in body["cameras"])
    assert [c["distance_m"] for c in body["cameras"]] == sorted(
        c["distance_m"] for c in body["cameras"]
    )
    worker = client.get(f"/api/events/{code}/nearby", headers=keys["worker"]).json()
    assert "phone" not in worker["grid_worker"]
