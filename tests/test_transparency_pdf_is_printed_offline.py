"""The transparency PDF is printed without touching the network or the disk: WeasyPrint's fetcher
refuses every URL but data: ones. A page naming a stylesheet and a picture on a real HTTP server
on loopback and a local file prints, and the server receives no request."""

from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pypdf import PdfReader

from balise.governance.adapters.transparency_files import pdf_bytes


def test_remote_and_file_resources_are_not_fetched(tmp_path):
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { color: red }")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: blue }", encoding="utf-8")
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        pdf = pdf_bytes(f'<html><head><link rel="stylesheet" href="{base}/style.css">'
                        f'<link rel="stylesheet" href="file://{secret}"></head>'
                        f'<body><p>Offline</p><img src="{base}/chart.png" alt="chart">'
                        '<img src="data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmci'
                        'IHdpZHRoPSIxMCIgaGVpZ2h0PSIxMCIvPg==" alt="inline"></body></html>')
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []
    assert pdf.startswith(b"%PDF-")
    assert "Offline" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
