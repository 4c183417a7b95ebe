"""API rows and path reservations: `Api` to and from table entities."""

from __future__ import annotations

import json

from shared.bodies import parse_backend_credentials
from shared.models import Api, ApiSpec, BackendCredentials, TlsSettings
from shared.storage.tables import Entity, EntityTable


class ApiRows:
    def __init__(self, table: EntityTable) -> None:
        self.table = table

    def find(self, api_id: str) -> Api | None:
        found = self.table.find(api_id)
        return None if found is None else _api(found[0], found[1])

    def create(self, api: Api) -> str:
        return self.table.create(api.id, _entity(api.spec))

    def replace(self, api: Api, *, etag: str) -> str:
        return self.table.replace(api.id, _entity(api.spec), etag=etag)

    def delete(self, api_id: str, *, etag: str) -> None:
        self.table.delete(api_id, etag=etag)

    def using_certificate(self, certificate_id: str) -> list[str]:
        """Ids of the APIs bound to `certificate_id`, in id order."""
        rows = self.table.query("CertificateId eq @c", {"c": certificate_id}, select=["RowKey"])
        return [r["RowKey"] for r in rows]

    def named_value_usage(self) -> dict[str, frozenset[str]]:
        """apiId -> the named value ids its credentials refer to, from one scan."""
        rows = self.table.query(select=["RowKey", "Credentials"])
        usage = {str(r["RowKey"]): _credentials(r).named_value_ids() for r in rows}
        return {api_id: refs for api_id, refs in usage.items() if refs}

    def usage(self) -> dict[str, list[str]]:
        """certificateId -> ids of the APIs that use it, from one scan."""
        users: dict[str, list[str]] = {}
        for row in self.table.query(select=["RowKey", "CertificateId"]):
            if row.get("CertificateId"):
                users.setdefault(row["CertificateId"], []).append(row["RowKey"])
        return users

    def ca_usage(self) -> dict[str, list[str]]:
        """caCertificateId -> ids of the APIs that trust it, from one scan (a JSON list per row
        cannot be queried in Table Storage)."""
        users: dict[str, list[str]] = {}
        for row in self.table.query(select=["RowKey", "CaCertificateIds"]):
            for ca_id in json.loads(row.get("CaCertificateIds") or "[]"):
                users.setdefault(ca_id, []).append(row["RowKey"])
        return users

    def using_ca_certificate(self, ca_id: str) -> list[str]:
        """Ids of the APIs whose tls.caCertificateIds lists `ca_id`, in id order."""
        return self.ca_usage().get(ca_id, [])

    def page(self, *, after: str | None, top: int) -> tuple[list[Api], bool]:
        rows, more = self.table.page(after=after, top=top)
        return [_api(r, "") for r in rows], more

    def all(self) -> list[Api]:
        return [_api(r, "") for r in self.table.query()]


class PathReservation:
    """Who owns an API path. The row key is the path with '/' written as '|' (Table Storage
    keys may not hold '/'; '|' is not allowed in paths, so the mapping is one to one)."""

    def __init__(self, table: EntityTable) -> None:
        self.table = table

    def find(self, path: str) -> tuple[str, bool, str] | None:
        """(owner apiId, confirmed, etag) or None."""
        found = self.table.find(path_key(path))
        if found is None:
            return None
        return str(found[0]["ApiId"]), bool(found[0].get("Confirmed")), found[1]

    def create(self, path: str, api_id: str) -> str:
        return self.table.create(path_key(path), {"ApiId": api_id, "Confirmed": False})

    def claim(self, path: str, api_id: str, *, etag: str, confirmed: bool) -> str:
        return self.table.replace(path_key(path), {"ApiId": api_id, "Confirmed": confirmed}, etag=etag)

    def delete(self, path: str, *, etag: str) -> None:
        self.table.delete(path_key(path), etag=etag)

    def index(self) -> dict[str, str]:
        """Every reserved path and its owner's id, from one query (a few pages at most)."""
        rows = self.table.query(select=["RowKey", "ApiId"])
        return {str(r["RowKey"]).replace("|", "/"): str(r["ApiId"]) for r in rows}


def path_key(path: str) -> str:
    return path.replace("/", "|")


def _entity(spec: ApiSpec) -> Entity:
    return {
        "DisplayName": spec.display_name,
        "Path": spec.path,
        "ServiceUrl": spec.service_url,
        "CertificateId": spec.certificate_id or "",
        "ValidateChain": spec.tls.validate_certificate_chain,
        "ValidateName": spec.tls.validate_certificate_name,
        # JSON lists; rows written before these existed read as empty.
        "CaCertificateIds": json.dumps(list(spec.tls.ca_certificate_ids)),
        "ServerThumbprints": json.dumps(list(spec.tls.server_certificate_thumbprints)),
        "ServerName": spec.tls.server_name or "",
        # As written ({{namedValueId}} references, never their values).
        "Credentials": json.dumps(spec.backend_credentials.to_wire()),
    }


def _tls(entity: Entity) -> TlsSettings:
    return TlsSettings(
        bool(entity.get("ValidateChain", True)),
        bool(entity.get("ValidateName", True)),
        ca_certificate_ids=tuple(json.loads(entity.get("CaCertificateIds") or "[]")),
        server_certificate_thumbprints=tuple(json.loads(entity.get("ServerThumbprints") or "[]")),
        server_name=entity.get("ServerName") or None,
    )


def _credentials(entity: Entity) -> BackendCredentials:
    return parse_backend_credentials(json.loads(entity.get("Credentials") or "{}"))


def _api(entity: Entity, etag: str) -> Api:
    spec = ApiSpec(
        display_name=entity.get("DisplayName", ""),
        path=entity["Path"],
        service_url=entity["ServiceUrl"],
        certificate_id=entity.get("CertificateId") or None,
        tls=_tls(entity),
        backend_credentials=_credentials(entity),
    )
    return Api(id=entity["RowKey"], spec=spec, etag=etag)
