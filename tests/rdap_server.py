"""A local RDAP server (RFC 9082 paths, RFC 9083 JSON) on 127.0.0.1 for the RDAP tests.

All registrations here are DEMO data: the addresses are public ones so that the client
does not refuse them as special-use, but the networks, organisations and contacts are
invented (``*.example`` domains). The answers follow the shape of the Regional Internet
Registries' real answers: RIPE-like (abuse entity at the top of ``entities``), ARIN-like
(abuse contact nested in the registrant organisation), an abuse entity given only by a
``self`` link, a network pointing to its parent with an ``up`` link, a referral to another
registry by HTTP redirect, and the failure cases (404 with an RDAP error object, malformed
JSON, HTML, an oversized answer, 429 with Retry-After, a JSON array)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

RDAP_JSON = "application/rdap+json"
CONFORMANCE = ["cidr0", "rdap_level_0", "nro_rdap_profile_0", "redacted"]


def _vcard(*props: list[Any]) -> list[Any]:
    return ["vcard", [["version", {}, "text", "4.0"], *props]]


def ripe_like(base: str, prefix: str = "185.0.2") -> dict[str, Any]:
    return {
        "handle": f"{prefix}.0 - {prefix}.255",
        "name": "DEMO-HOSTING-NET",
        "country": "NL",
        "parentHandle": f"{prefix.rsplit('.', 1)[0]}.0.0 - {prefix.rsplit('.', 1)[0]}.3.255",
        "startAddress": f"{prefix}.0",
        "endAddress": f"{prefix}.255",
        "ipVersion": "v4",
        "type": "ASSIGNED PA",
        "cidr0_cidrs": [{"v4prefix": f"{prefix}.0", "length": 24}],
        "objectClassName": "ip network",
        "links": [
            {"value": f"{base}ip/{prefix}.10", "rel": "self", "href": f"{base}ip/{prefix}.0/24"},
            {"value": f"{base}ip/{prefix}.10", "rel": "copyright", "href": "https://registry.example/terms"},
        ],
        "entities": [
            {"handle": "ORG-DEMO1-RIPE", "roles": ["registrant"], "objectClassName": "entity",
             "vcardArray": _vcard(["fn", {}, "text", "DEMO Hosting B.V."], ["kind", {}, "text", "org"],
                                  ["adr", {"label": "Demostraat 1\n1000 AA Amsterdam\nNETHERLANDS"}, "text",
                                   ["", "", "", "", "", "", ""]]),
             "links": [{"value": f"{base}ip/185.0.2.10", "rel": "self", "href": f"{base}entity/ORG-DEMO1-RIPE"}]},
            {"handle": "DEMO1-RIPE", "roles": ["administrative", "technical"], "objectClassName": "entity",
             "vcardArray": _vcard(["fn", {}, "text", "DEMO NOC"], ["kind", {}, "text", "group"],
                                  ["email", {}, "text", "noc@hosting.example"])},
            {"handle": "DEMO-MNT", "roles": ["registrant"], "objectClassName": "entity"},
            {"handle": "AR-DEMO1-RIPE", "roles": ["abuse"], "objectClassName": "entity",
             "vcardArray": _vcard(["fn", {}, "text", "DEMO Hosting Abuse"], ["kind", {}, "text", "group"],
                                  ["email", {"pref": "1"}, "text", "abuse@hosting.example"],
                                  ["tel", {"type": "voice"}, "text", "+31 20 000 0000"])},
        ],
        "remarks": [{"title": "remarks", "description": ["DEMO registration for Balise tests"]}],
        "events": [{"eventAction": "registration", "eventDate": "2019-04-01T10:00:00Z"},
                   {"eventAction": "last changed", "eventDate": "2024-02-02T10:00:00Z"}],
        "rdapConformance": CONFORMANCE,
        "notices": [{"title": "Filtered", "description": ["This output has been filtered."]},
                    {"title": "Source", "description": ["Objects returned came from source", "DEMO"]}],
        "port43": "whois.registry.example",
    }


def arin_like(base: str) -> dict[str, Any]:
    return {
        "objectClassName": "ip network",
        "handle": "NET-23-0-2-0-1",
        "startAddress": "23.0.2.0",
        "endAddress": "23.0.3.255",
        "ipVersion": "v4",
        "name": "DEMO-CLOUD-2",
        "type": "DIRECT ALLOCATION",
        "parentHandle": "NET-23-0-0-0-0",
        "links": [{"value": f"{base}ip/23.0.2.10", "rel": "self", "type": RDAP_JSON,
                   "href": f"{base}ip/23.0.2.0"}],
        "entities": [{
            "objectClassName": "entity",
            "handle": "DEMOC-1",
            "roles": ["registrant"],
            "vcardArray": _vcard(["fn", {}, "text", "DEMO Cloud Inc."], ["kind", {}, "text", "org"]),
            "entities": [
                {"objectClassName": "entity", "handle": "DEMONOC-ARIN", "roles": ["technical", "noc"],
                 "vcardArray": _vcard(["fn", {}, "text", "DEMO NOC"], ["kind", {}, "text", "group"],
                                      ["email", {}, "text", "noc@cloud.example"])},
                {"objectClassName": "entity", "handle": "DEMOAB-ARIN", "roles": ["abuse"],
                 "vcardArray": _vcard(["fn", {}, "text", "DEMO Abuse Desk"], ["kind", {}, "text", "group"],
                                      ["email", {}, "text", "abuse@cloud.example"],
                                      ["tel", {"type": ["work", "voice"]}, "uri", "tel:+1-555-0100"]),
                 "links": [{"value": f"{base}ip/23.0.2.10", "rel": "self", "type": RDAP_JSON,
                            "href": f"{base}entity/DEMOAB-ARIN"}]},
            ],
        }],
        "rdapConformance": ["nro_rdap_profile_0", "rdap_level_0", "cidr0"],
        "port43": "whois.registry.example",
        "cidr0_cidrs": [{"v4prefix": "23.0.2.0", "length": 23}],
    }


def linked_abuse(base: str) -> dict[str, Any]:
    return {
        "objectClassName": "ip network", "handle": "DEMO-41-0-2-0", "name": "DEMO-LINKED",
        "startAddress": "41.0.2.0", "endAddress": "41.0.2.255", "ipVersion": "v4", "country": "ZA",
        "entities": [{"objectClassName": "entity", "handle": "DEMO-ABUSE-AFRINIC", "roles": ["abuse"],
                      "links": [{"value": f"{base}ip/41.0.2.10", "rel": "self", "type": RDAP_JSON,
                                 "href": f"{base}entity/DEMO-ABUSE-AFRINIC"}]}],
        "rdapConformance": ["rdap_level_0"],
    }


ENTITIES = {
    "DEMO-ABUSE-AFRINIC": {
        "objectClassName": "entity", "handle": "DEMO-ABUSE-AFRINIC", "roles": ["abuse"],
        "vcardArray": _vcard(["fn", {}, "text", "DEMO Linked Abuse"], ["email", {}, "text", "abuse@linked.example"]),
        "rdapConformance": ["rdap_level_0"],
    },
}


def child_without_abuse(base: str) -> dict[str, Any]:
    return {
        "objectClassName": "ip network", "handle": "DEMO-45-0-2-0", "name": "DEMO-CUSTOMER",
        "startAddress": "45.0.2.0", "endAddress": "45.0.2.127", "ipVersion": "v4",
        "parentHandle": "DEMO-45-0-0-0",
        "links": [{"value": f"{base}ip/45.0.2.10", "rel": "up", "type": RDAP_JSON, "href": f"{base}ip/45.0.0.0"}],
        "entities": [{"objectClassName": "entity", "handle": "DEMO-CUST", "roles": ["registrant"]}],
        "rdapConformance": ["rdap_level_0"],
    }


def parent_network(base: str) -> dict[str, Any]:
    return {
        "objectClassName": "ip network", "handle": "DEMO-45-0-0-0", "name": "DEMO-UPSTREAM",
        "startAddress": "45.0.0.0", "endAddress": "45.0.255.255", "ipVersion": "v4",
        "entities": [{"objectClassName": "entity", "handle": "DEMO-UP-ABUSE", "roles": ["abuse"],
                      "vcardArray": _vcard(["fn", {}, "text", "DEMO Upstream Abuse"],
                                           ["email", {}, "text", "abuse@upstream.example"])}],
        "rdapConformance": ["rdap_level_0"],
    }


def ipv6_network(base: str) -> dict[str, Any]:
    return {
        "objectClassName": "ip network", "handle": "2a0a:9000::/32", "name": "DEMO-V6", "country": "DE",
        "startAddress": "2a0a:9000::", "endAddress": "2a0a:9000:ffff:ffff:ffff:ffff:ffff:ffff", "ipVersion": "v6",
        "cidr0_cidrs": [{"v6prefix": "2a0a:9000::", "length": 32}],
        "entities": [{"objectClassName": "entity", "handle": "AR-DEMO6", "roles": ["abuse"],
                      "vcardArray": _vcard(["fn", {}, "text", "DEMO v6 Abuse"],
                                           ["email", {}, "text", "abuse@v6.example"])}],
        "rdapConformance": ["cidr0", "rdap_level_0"],
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    def _send(self, status: int, body: bytes, content_type: str = RDAP_JSON,
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (the oversized answer): expected

    def _json(self, document: Any, status: int = 200) -> None:
        self._send(status, json.dumps(document).encode())

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.server.hits[self.path] += 1
        self.server.accepts.append(self.headers.get("Accept", ""))
        base = f"http://127.0.0.1:{self.server.server_address[1]}/rdap/"
        if self.path.startswith("/other-rir/ip/77.0.2."):
            self._json(ripe_like(base.replace("/rdap/", "/other-rir/"), "77.0.2"))
            return
        if self.path.startswith("/rdap/entity/"):
            handle = self.path.rsplit("/", 1)[1]
            if handle in ENTITIES:
                self._json(ENTITIES[handle])
            else:
                self._json({"errorCode": 404, "title": "Not Found", "rdapConformance": ["rdap_level_0"]}, 404)
            return
        if not self.path.startswith("/rdap/ip/"):
            self._send(404, b"no such path", "text/plain")
            return
        query = self.path[len("/rdap/ip/"):]
        if query.startswith("185.0.2."):
            self._json(ripe_like(base))
        elif query.startswith("23.0.2.") or query.startswith("23.0.3."):
            self._json(arin_like(base))
        elif query.startswith("41.0.2."):
            self._json(linked_abuse(base))
        elif query == "45.0.0.0":
            self._json(parent_network(base))
        elif query.startswith("45.0.2."):
            self._json(child_without_abuse(base))
        elif query.startswith("2a0a:9000:"):
            self._json(ipv6_network(base))
        elif query.startswith("77.0.2."):
            # A registry that does not hold the address refers the client to the one that does.
            self._send(301, b"", "text/plain", {"Location": f"/other-rir/ip/{query}"})
        elif query.startswith("5.0.3."):
            self._send(200, b'{"objectClassName": "ip network", "handle": "DEMO-TRUNC", "entities": [{"han')
        elif query.startswith("5.0.4."):
            self._send(200, b"<html><body>DEMO HTML page, not RDAP</body></html>", "text/html; charset=utf-8")
        elif query.startswith("5.0.5."):
            padding = "DEMO " * (self.server.oversized_bytes // 5)
            self._json({**ripe_like(base), "remarks": [{"description": [padding]}]})
        elif query.startswith("5.0.6."):
            self._send(429, json.dumps({"errorCode": 429, "title": "Too Many Requests"}).encode(), RDAP_JSON,
                       {"Retry-After": "120"})
        elif query.startswith("5.0.7."):
            self._json([{"objectClassName": "ip network"}])
        elif query.startswith("5.0.8."):
            self._json({"objectClassName": "entity", "handle": "DEMO-WRONG"})
        else:
            self._json({"errorCode": 404, "title": "Not Found",
                        "description": [f"No DEMO network holds {query}"],
                        "rdapConformance": ["rdap_level_0"]}, 404)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: Counter[str] = Counter()
        self.accepts: list[str] = []
        self.oversized_bytes = 2 * 1024 * 1024


class RdapServer:
    def __init__(self, server: _Server) -> None:
        self._server = server
        self.base = f"http://127.0.0.1:{server.server_address[1]}/rdap/"

    @property
    def hits(self) -> Counter[str]:
        return self._server.hits

    @property
    def accepts(self) -> list[str]:
        return self._server.accepts

    def write_bootstrap(self, directory: Path) -> Path:
        """IANA-format ipv4.json and ipv6.json that send the DEMO blocks to this server."""
        directory.mkdir(parents=True, exist_ok=True)
        v4 = ["185.0.0.0/8", "23.0.0.0/8", "41.0.0.0/8", "45.0.0.0/8", "5.0.0.0/8", "77.0.0.0/8"]
        for name, networks in (("ipv4.json", v4), ("ipv6.json", ["2a00::/12"])):
            (directory / name).write_text(json.dumps({
                "description": "DEMO bootstrap for Balise tests", "publication": "2026-11-23T00:00:00Z",
                "version": "1.0", "services": [[networks, [self.base]]]}))
        return directory


@contextmanager
def rdap_server() -> Iterator[RdapServer]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield RdapServer(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
