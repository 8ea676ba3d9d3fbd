"""The home page and residential groups: listing, create, inline rename/target, scoping."""
import pytest

from wardkit import audit
from wardkit.groups import queries
from tests.factories import WARD_A, WARD_B, make_group, make_user

HX = {"HX-Request": "true"}


@pytest.fixture
def leader(db, auth):
    user = make_user(db, username="lead", role="leader")
    auth.login("lead")
    return user


def test_home_lists_ward_groups_in_natural_order(client, db, auth):
    make_user(db, username="an")
    make_group(db, name="Tổ dân phố số 10", target_adults=1200)
    make_group(db, name="Tổ dân phố số 2", target_adults=300, cluster="Cụm 1")
    make_group(db, name="Thôn Đông", ward_code=WARD_B)
    auth.login("an")
    html = client.get("/").text
    assert "Phường Tây Hồ" in html
    assert html.index("Tổ dân phố số 2") < html.index("Tổ dân phố số 10")
    assert "Thôn Đông" not in html
    assert "Cụm 1" in html
    assert "1.500" in html  # total target, Vietnamese number format
    assert "groups.edit" not in html and "/edit" not in html  # officers cannot edit


def test_leader_creates_group(client, db, leader, auth):
    r = auth.post("/groups/", {"name": "  Tổ dân phố  số 7 ", "cluster": "Cụm 1",
                               "target_adults": "1.250"})
    assert r.status_code == 303
    [group] = queries.list_groups(db, WARD_A)
    assert group["name"] == "Tổ dân phố số 7"  # whitespace collapsed
    assert group["target_adults"] == 1250
    entry = audit.entries(db, action="group_created")[0]
    assert (entry["entity_id"], entry["user_id"], entry["ward_code"]) == (
        group["id"], leader["id"], WARD_A)
    assert "Tổ dân phố số 7" in client.get("/").text


def test_group_names_stored_nfc(client, db, leader, auth):
    decomposed = "To\u0302\u0309 da\u0302n pho\u0302\u0301 so\u0302\u0301 3"  # NFD input
    auth.post("/groups/", {"name": decomposed, "target_adults": "5"})
    [group] = queries.list_groups(db, WARD_A)
    assert group["name"] == "Tổ dân phố số 3"


@pytest.mark.parametrize("data, field", [
    ({"name": "", "target_adults": "10"}, "name"),
    ({"name": "\u200b", "target_adults": "10"}, "name"),
    ({"name": "T" * 81, "target_adults": "10"}, "name"),
    ({"name": "Tổ 1", "target_adults": "mười"}, "target_adults"),
    ({"name": "Tổ 1", "target_adults": "-5"}, "target_adults"),
    ({"name": "Tổ 1", "target_adults": "９９"}, "target_adults"),
    ({"name": "Tổ 1", "target_adults": "10000000"}, "target_adults"),
])
def test_create_group_bad_input(client, db, leader, auth, data, field):
    r = auth.post("/groups/", data)
    assert r.status_code == 422
    assert f'id="{field}-error"' in r.text
    assert queries.list_groups(db, WARD_A) == []


def test_duplicate_group_name_refused(client, db, leader, auth):
    make_group(db, name="Tổ 1")
    r = auth.post("/groups/", {"name": "Tổ 1", "target_adults": "10"})
    assert r.status_code == 422 and 'id="name-error"' in r.text
    assert len(queries.list_groups(db, WARD_A)) == 1


def test_inline_edit_round_trip(client, db, leader, auth):
    group = make_group(db, name="Tổ 7", target_adults=700)
    target = {"HX-Target": f"group-{group['id']}", **HX}
    r = client.get(f"/groups/{group['id']}/edit", headers=target)
    assert r.status_code == 200
    assert "<html" not in r.text and r.text.lstrip().startswith(f'<tr id="group-{group["id"]}"')
    assert 'name="target_adults"' in r.text
    r = auth.post(f"/groups/{group['id']}", {"name": "Tổ 7A", "cluster": "",
                                             "target_adults": "800"}, headers=target)
    assert r.status_code == 200
    assert r.text.lstrip().startswith("<tr") and "Tổ 7A" in r.text and "800" in r.text
    saved = queries.get_group(db, WARD_A, group["id"])
    assert (saved["name"], saved["target_adults"], saved["cluster"]) == ("Tổ 7A", 800, None)
    entry = audit.entries(db, action="group_updated")[0]
    assert entry["entity_id"] == group["id"] and "target_adults" in entry["detail"]


def test_inline_edit_error_returns_row_with_message(client, db, leader, auth):
    group = make_group(db, name="Tổ 7", target_adults=700)
    target = {"HX-Target": f"group-{group['id']}", **HX}
    r = auth.post(f"/groups/{group['id']}", {"name": "Tổ 7", "target_adults": "abc"},
                  headers=target)
    assert r.status_code == 422
    assert r.text.lstrip().startswith("<tr") and 'class="field-error"' in r.text
    assert queries.get_group(db, WARD_A, group["id"])["target_adults"] == 700


def test_edit_without_htmx_is_a_full_page(client, db, leader, auth):
    group = make_group(db, name="Tổ 7")
    r = client.get(f"/groups/{group['id']}/edit")
    assert r.status_code == 200 and "<html" in r.text
    assert r.headers["Vary"].count("HX-Target") == 1
    r = auth.post(f"/groups/{group['id']}", {"name": "Tổ 8", "target_adults": "1"})
    assert r.status_code == 303
    assert queries.get_group(db, WARD_A, group["id"])["name"] == "Tổ 8"


def test_other_ward_group_is_404_everywhere(client, db, leader, auth):
    other = make_group(db, ward_code=WARD_B, name="Tổ Hoàn Kiếm", target_adults=5)
    assert client.get(f"/groups/{other['id']}").status_code == 404
    assert client.get(f"/groups/{other['id']}/edit").status_code == 404
    r = auth.post(f"/groups/{other['id']}", {"name": "Hijacked", "target_adults": "1"})
    assert r.status_code == 404
    assert queries.get_group(db, WARD_B, other["id"])["name"] == "Tổ Hoàn Kiếm"
    assert client.get("/groups/no-such-id/edit").status_code == 404


def test_officer_of_ward_a_gets_404_for_ward_b_group(client, db, auth):
    make_user(db, username="an", role="officer")
    other = make_group(db, ward_code=WARD_B)
    auth.login("an")
    assert client.get(f"/groups/{other['id']}").status_code == 404


@pytest.mark.parametrize("role", ["officer", "viewer", "kiosk"])
def test_only_leaders_and_admins_change_groups(client, db, auth, role):
    make_user(db, username="u", role=role)
    group = make_group(db, name="Tổ 1")
    auth.login("u")
    refused = 404 if role in ("viewer", "kiosk") else 403  # a viewer (and a kiosk device) learns nothing: 404
    assert client.get(f"/groups/{group['id']}/edit").status_code == refused
    r = auth.post(f"/groups/{group['id']}", {"name": "X", "target_adults": "1"})
    assert r.status_code == refused
    assert auth.post("/groups/", {"name": "X", "target_adults": "1"}).status_code == refused
    assert queries.get_group(db, WARD_A, group["id"])["name"] == "Tổ 1"


def test_kiosk_home_shows_no_ward_data(client, db, auth):
    make_user(db, username="k", role="kiosk")
    make_group(db, name="Tổ dân phố số 4")
    auth.login("k")
    assert client.get("/").status_code == 404  # a kiosk device has its own start screen
    html = client.get("/kiosk").text
    assert "Tổ dân phố số 4" not in html


def test_inline_save_triggers_summary_refresh(client, db, leader, auth):
    group = make_group(db, name="Tổ 7", target_adults=700)
    make_group(db, name="Tổ 8", target_adults=300)
    target = {"HX-Target": f"group-{group['id']}", **HX}
    r = auth.post(f"/groups/{group['id']}", {"name": "Tổ 7", "target_adults": "900"},
                  headers=target)
    assert r.headers["HX-Trigger"] == "groups-changed"
    r = client.get("/groups/summary", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.text
    assert 'id="groups-summary"' in r.text and "1.200" in r.text and "2" in r.text
