"""The browser form's route id (SQLite and PostgreSQL alike): the page of a form is /f/ROUTE, where
ROUTE is an HMAC of the form id under a secret the store makes once, so the path (kept in a phone's
History and Sessions) names nothing, a phone holder cannot test a guessed form id, every server on the
store agrees, and the API maps a submission sent under the route id back to its form."""

from __future__ import annotations

import re

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pgserver import pg_server  # noqa: F401  (the session fixture)
from starlette.testclient import TestClient

from quietpoll.collect.app import create_app
from quietpoll.collect.envelope import open_sealed, seal
from quietpoll.collect.shell import form_path, form_route, form_routes
from quietpoll.collect.store import Store


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'collect.db'}"
        return
    server = request.getfixturevalue("pg_server")
    u = server.create_database()
    yield u
    server.drop_database(u)


def test_route_key_is_made_once_and_shared(url):
    a, b = Store.open(url), Store.open(url)
    try:
        key = a.route_key()
        assert len(key) == 32 and b.route_key() == key and a.route_key() == key
        path = form_path(a, "foreign_media")
        assert re.fullmatch(r"/f/[0-9a-f]{20}", path) and path == form_path(b, "foreign_media")
        assert form_path(a, "other") != path
    finally:
        a.close()
        b.close()
    again = Store.open(url)
    try:
        assert again.route_key() == key  # kept at rest: a restarted server keeps the enrolled paths
    finally:
        again.close()


def test_route_depends_on_the_secret_not_only_on_the_form_id(tmp_path):
    one = Store.open(f"sqlite:///{tmp_path / 'one.db'}")
    two = Store.open(f"sqlite:///{tmp_path / 'two.db'}")
    try:
        assert one.route_key() != two.route_key()
        assert form_path(one, "foreign_media") != form_path(two, "foreign_media")
    finally:
        one.close()
        two.close()
    assert form_route("f", b"k" * 32) == form_route("f", b"k" * 32) != form_route("f", b"j" * 32)
    assert form_routes(["f"], None) == {"f": "f"}  # a preview without a store keeps the form id


def test_api_maps_the_route_id_to_the_form(tmp_path):
    from quietpoll.collect.web import add_form_routes
    from quietpoll.instrument.form import load_instrument

    form = tmp_path / "form.md"
    form.write_text(
        "| survey |  |  |  |\n|---|---|---|---|\n|  | type | name | label |\n|  | text | remark | Remark |\n"
        "| settings |  |\n|---|---|\n|  | form_id |\n|  | rt |\n",
        encoding="utf-8",
    )
    inst = load_instrument(form)
    private = X25519PrivateKey.generate()
    public = private.public_key()
    store = Store.open(f"sqlite:///{tmp_path / 'collect.db'}")
    try:
        token = store.add_token("field-01")
        app = create_app(store, forms={inst.form_id: {}})
        import base64

        add_form_routes(app, {inst.form_id: inst}, base64.b64encode(public.public_bytes_raw()).decode(), store=store)
        route = form_path(store, inst.form_id).removeprefix("/f/")
        ct = seal(public, inst.form_id, "uuid:r1", {"remark": "x"})
        with TestClient(app) as client:
            r = client.post(
                "/api/v1/submissions",
                headers={"Authorization": f"Bearer {token}"},
                json={"form_id": route, "instance_id": "uuid:r1", "ciphertext": ct},
            )
            assert r.status_code == 201, r.text
            assert client.get(f"/f/{inst.form_id}").status_code == 404
            assert client.get(f"/f/{route}").status_code == 200
        [(form_id, instance_id, stored)] = list(store.ciphertexts())
        assert (form_id, instance_id) == (inst.form_id, "uuid:r1")  # the store keeps the form id
        assert open_sealed(private, form_id, instance_id, stored) == {"remark": "x"}
    finally:
        store.close()
