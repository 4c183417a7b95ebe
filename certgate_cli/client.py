"""HTTP calls of the management API (requests); refusals raise `Refused` with the contract's error."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import requests


class Refused(Exception):
    """The service answered with the contract's error shape (or something unexpected);
    `error` is that whole object (`code`, `message`, and `target` and `details` when given)."""

    def __init__(self, status: int, code: str, message: str, error: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.error: dict[str, Any] = error if error is not None else {"code": code, "message": message}


class ManagementClient:
    def __init__(self, base_url: str, key: str | None, *, timeout: float = 60) -> None:
        self._base = base_url.rstrip("/")
        self._session = requests.Session()
        if key:
            self._session.headers["x-functions-key"] = key
        self._timeout = timeout

    def upload_certificate(self, cert_id: str, pfx: bytes, password: str) -> dict[str, Any]:
        body = {"properties": {"data": base64.b64encode(pfx).decode(), "password": password}}
        return self._call("PUT", f"/management/certificates/{cert_id}", json=body)

    def put_api(self, api_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        return self.put("apis", api_id, properties)

    def put(self, kind: str, resource_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        return self._call("PUT", f"/management/{kind}/{resource_id}", json={"properties": properties})

    def test_api(self, api_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """The dry run's report (`ok` and `steps`); the service answers 200 whatever the outcome."""
        return self._call("POST", f"/management/apis/{api_id}/test", json=body)

    def get(self, kind: str, resource_id: str) -> dict[str, Any]:
        return self._call("GET", f"/management/{kind}/{resource_id}")

    def policy(self, api_id: str) -> dict[str, Any]:
        return self._call("GET", f"/management/apis/{api_id}/policy")

    def delete(self, kind: str, resource_id: str) -> dict[str, Any]:
        return self._call("DELETE", f"/management/{kind}/{resource_id}")

    def list_all(self, kind: str, odata_filter: str | None = None) -> Iterator[dict[str, Any]]:
        """Every item over the pages; `odata_filter` is sent as `$filter` (a nextLink keeps it)."""
        url: str | None = f"{self._base}/management/{kind}"
        params = {"$filter": odata_filter} if odata_filter else None
        while url:
            page = self._call("GET", url, params=params)
            params = None  # the nextLink carries the query
            yield from page.get("value", [])
            url = page.get("nextLink")

    def _call(self, method: str, path_or_url: str, **kwargs: Any) -> dict[str, Any]:
        url = path_or_url if path_or_url.startswith("http") else self._base + path_or_url
        try:
            response = self._session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            raise Refused(0, "Unreachable", f"{url}: {exc}") from exc
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
                code, message = str(error["code"]), str(error["message"])
            except (ValueError, KeyError, TypeError):
                raise Refused(response.status_code, "HttpError", response.text[:500]) from None
            raise Refused(response.status_code, code, message, dict(error))
        if not response.content:
            return {"status": response.status_code, "deleted": response.status_code == 200}
        result: dict[str, Any] = response.json()
        return result
