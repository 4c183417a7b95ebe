"""A small client of the management API for the tests (requests, JSON)."""

from __future__ import annotations

import base64
from typing import Any

import requests


class Management:
    def __init__(self, base_url: str, key: str | None = None) -> None:
        self.base = base_url
        self.session = requests.Session()
        if key:
            self.session.headers["x-functions-key"] = key

    def upload(self, cert_id: str, pfx: bytes, password: str | None, **headers: str) -> requests.Response:
        props: dict[str, Any] = {"data": base64.b64encode(pfx).decode()}
        if password is not None:
            props["password"] = password
        return self.session.put(
            f"{self.base}/management/certificates/{cert_id}",
            json={"properties": props},
            headers=_h(headers),
            timeout=30,
        )

    def put_api(
        self,
        api_id: str,
        path: str,
        service_url: str,
        cert_id: str | None = None,
        tls: dict[str, bool] | None = None,
        **headers: str,
    ) -> requests.Response:
        props: dict[str, Any] = {"displayName": api_id, "path": path, "serviceUrl": service_url}
        if cert_id is not None:
            props["credentials"] = {"certificateId": cert_id}
        if tls is not None:
            props["tls"] = tls
        return self.session.put(
            f"{self.base}/management/apis/{api_id}",
            json={"properties": props},
            headers=_h(headers),
            timeout=30,
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(f"{self.base}{path}", timeout=30, **kwargs)

    def head(self, path: str) -> requests.Response:
        return self.session.head(f"{self.base}{path}", timeout=30)

    def delete(self, path: str, **headers: str) -> requests.Response:
        return self.session.delete(f"{self.base}{path}", headers=_h(headers), timeout=30)


def _h(headers: dict[str, str]) -> dict[str, str]:
    return {k.replace("_", "-"): v for k, v in headers.items()}


def error_code(response: requests.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return str(body["error"]["code"])
