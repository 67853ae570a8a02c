"""`balise orders`: register an authority's signing key (refused for another kind of
organisation or a key that is not one), list orders with their clock, show one, give the
opinion on a draft detection order, enter an order from a file (nothing stored when invalid);
`balise clocks list --kind order_removal` shows the removal clock."""

from __future__ import annotations

import base64
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient

from balise.accounts.actors import Actor
from balise.domain.model import OrgKind
from balise.web.app import create_app
from tests.cli_support import run_cli
from tests.helpers import auth
from tests.orders_support import make_addressee, make_authority, order_body
from tests.test_routing_cli import cli_env


def test_orders_commands(balise, tmp_path):
    env = cli_env(balise)
    with balise.db.transaction() as session:
        balise.organisations.create(session, Actor.system("test"), name="Authority CLI", country="BE",
                                    kind=OrgKind.COORDINATING_AUTHORITY)
    public = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_file = tmp_path / "key.b64"
    key_file.write_text(base64.b64encode(public).decode())
    r = run_cli(env, "orders", "register-key", "Authority CLI", str(key_file))
    assert r.returncode == 0 and r.stdout.startswith("ed25519:"), r.stderr
    key_file.write_text("bm90IGEga2V5")
    r = run_cli(env, "orders", "register-key", "Authority CLI", str(key_file))
    assert r.returncode == 2 and "public_key" in r.stderr + r.stdout

    authority = make_authority(balise)
    _, provider_key = make_addressee(balise)
    with TestClient(create_app(balise)) as client:
        oid = client.post("/api/v1/orders", json=authority.sign(order_body()), headers=auth(authority.key)).json()["id"]
        client.post(f"/api/v1/orders/{oid}/transitions", json={"state": "received"}, headers=auth(provider_key))
        draft = client.post("/api/v1/orders", json=authority.sign(order_body("detection", draft=True)),
                            headers=auth(authority.key)).json()["id"]
    r = run_cli(env, "orders", "list")
    assert r.returncode == 0 and oid in r.stdout and "order_removal running (due in 23h" in r.stdout, r.stdout
    assert "order_opinion" in r.stdout
    r = run_cli(env, "clocks", "list", "--kind", "order_removal", "--json")
    assert [c["id"] for c in json.loads(r.stdout)] == [oid]
    r = run_cli(env, "orders", "show", oid)
    assert r.returncode == 0 and "issued -> received  by provider" in r.stdout
    assert run_cli(env, "orders", "show", "nope").returncode == 2
    r = run_cli(env, "orders", "opinion", draft, "--text", "no")
    assert r.returncode == 2 and "opinion" in r.stderr + r.stdout
    assert run_cli(env, "orders", "opinion", draft, "--text", "Proportionate.").returncode == 0

    body = {k: v for k, v in order_body("blocking").items() if k != "redress"}
    path = tmp_path / "order.json"
    path.write_text(json.dumps(body))
    r = run_cli(env, "orders", "enter", str(path), "--verification", "qualified e-signature checked")
    assert r.returncode == 2 and "redress" in r.stderr + r.stdout
    path.write_text(json.dumps({**body, "redress": "appeal within 1 month"}))
    r = run_cli(env, "orders", "enter", str(path), "--verification", "qualified e-signature checked")
    assert r.returncode == 0 and "issued" in r.stdout, r.stderr
    assert len(run_cli(env, "orders", "list", "--json", "--kind", "blocking").stdout) > 10
