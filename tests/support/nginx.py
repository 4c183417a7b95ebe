"""nginx as an mTLS backend for load and streaming tests, in its own process: it answers with
the SHA-1 fingerprint of the client certificate it verified (so a test can check which
identity every call presented without the backend sharing the test's GIL), and serves large
files from /files/."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.services import free_port, stop_process, wait_for
from tests.support.pki import CA

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
_CONF = """\
worker_processes 1;
{user}
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    access_log {dir}/access.log;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {dir}/server.pem;
        ssl_certificate_key {dir}/server.key;
        ssl_verify_client on;
        ssl_client_certificate {dir}/ca.pem;
        location / {{
            default_type text/plain;
            return 200 "$ssl_client_fingerprint";
        }}
        location /files/ {{
            root {dir};  # serve_file(): large downloads
        }}
    }}
}}
"""


class NginxBackend:
    def __init__(self, root: CA, directory: Path) -> None:
        if not Path(NGINX).exists():
            raise RuntimeError("nginx is missing: scripts/setup installs it (apt-get install nginx-light)")
        server = root.issue_server()
        (directory / "server.pem").write_bytes(server.chain_pem)
        (directory / "server.key").write_bytes(server.key_pem)
        root.write_pem(directory / "ca.pem")
        self.port = free_port()
        self.url = f"https://localhost:{self.port}"
        self._dir = directory
        conf = directory / "nginx.conf"
        user = "user root;" if os.geteuid() == 0 else ""  # else workers run as nobody: no temp dir
        conf.write_text(_CONF.format(dir=directory, port=self.port, user=user))
        self.process = subprocess.Popen(
            [NGINX, "-p", str(directory), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        wait_for(self._listening, timeout=15, what="nginx backend")

    def serve_file(self, name: str, size: int) -> str:
        """A file of `size` bytes (sparse: zeros) at /files/{name}; returns its path."""
        files = self._dir / "files"
        files.mkdir(exist_ok=True)
        with (files / name).open("wb") as f:
            f.truncate(size)
        return f"/files/{name}"

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"nginx exited: {(self._dir / 'error.log').read_text(errors='replace')}")
        import socket

        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def close(self) -> None:
        stop_process(self.process)

    def __enter__(self) -> NginxBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
