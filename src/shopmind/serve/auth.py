"""API keys in ``X-API-Key`` and the scope each endpoint needs.

- ``read`` (keys in SHOPMIND_READ_KEYS): recommendations, similar items, the catalogue, stats,
  bundles.
- ``ingest`` (SHOPMIND_INGEST_KEYS): posting events, nothing else: what a storefront or a
  tracking script in a browser may hold.
- ``admin`` (SHOPMIND_ADMIN_KEYS): everything: shoppers' data (the list, a profile, raw
  events, export, deletion), writes of items and shoppers, retraining, bundles.

A key may be listed under several scopes; an admin key may do everything. Without a key a
scoped endpoint answers 401; with a key that lacks its scope, 403 naming the scope it needs.
With no key configured at all the API is open (``shopmind serve`` allows that on loopback only).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Security, status
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader

from shopmind.serve.settings import ServeSettings

HEADER = "X-API-Key"
# auto_error=False: _Needs decides (401, 403, or open when no key is configured); the scheme
# puts the header in the OpenAPI schema, so /docs has an "Authorize" button that sends it.
_api_key = APIKeyHeader(
    name=HEADER,
    scheme_name="APIKey",
    auto_error=False,
    description="An API key; each endpoint says which scope (read, ingest or admin) it needs",
)


class Scope(StrEnum):
    READ = "read"
    INGEST = "ingest"
    ADMIN = "admin"

    @property
    def setting(self) -> str:
        """The environment variable listing the keys of this scope."""
        return f"SHOPMIND_{self.value.upper()}_KEYS"


#: What each scope may do, as the API docs and 403 answers say it.
MAY = {
    Scope.READ: "read recommendations, similar items, the catalogue, stats and bundles",
    Scope.INGEST: "post events (what a storefront or tracking script may hold)",
    Scope.ADMIN: "do everything: shoppers' data, writes of items and shoppers, retraining",
}


class _Needs:
    """The dependency of an endpoint that needs ``scope`` (admin satisfies any)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(
        self, request: Request, key: Annotated[str | None, Depends(_api_key)] = None
    ) -> None:
        settings: ServeSettings = request.app.state.settings
        if settings.is_open:
            return
        if not key:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                f"missing API key: send a key with the {self.scope} scope in the {HEADER} header",
                headers={"WWW-Authenticate": HEADER},
            )
        granted = settings.scopes_of(key)
        if self.scope in granted or Scope.ADMIN in granted:
            return
        raise ScopeRefused(self.scope, granted)


class ScopeRefused(HTTPException):
    """403: the key lacks the scope; the answer names it (``needs``) and the key's (``held``)."""

    def __init__(self, needs: Scope, held: frozenset[str]) -> None:
        has = (
            f"this key has the {' and '.join(sorted(held))} scope"
            if held
            else "this key is not one of the API's keys"
        )
        super().__init__(
            status.HTTP_403_FORBIDDEN,
            f"this endpoint needs the {needs} scope (a key listed in {needs.setting}, or an "
            f"admin key); {has}",
        )
        self.needs = needs
        self.held = sorted(held)

    def body(self) -> dict[str, object]:
        return {"detail": self.detail, "needs": str(self.needs), "held": self.held}


ReadAccess = Security(_Needs(Scope.READ), scopes=[Scope.READ.value])
IngestAccess = Security(_Needs(Scope.INGEST), scopes=[Scope.INGEST.value])
AdminAccess = Security(_Needs(Scope.ADMIN), scopes=[Scope.ADMIN.value])


def route_scope(route: APIRoute) -> Scope | None:
    """The scope a route needs, or None for a public one."""

    def find(dependant: Dependant) -> Scope | None:
        for sub in dependant.dependencies:
            if isinstance(sub.call, _Needs):
                return sub.call.scope
            found = find(sub)
            if found is not None:
                return found
        return None

    return find(route.dependant)


def document_scopes(router: APIRouter) -> None:
    """Say in the OpenAPI description of each of the router's routes which scope it needs
    (before the router is included in the app)."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        scope = route_scope(route)
        if scope is None:
            continue
        note = (
            f"**Scope: `{scope}`** — a key listed in `{scope.setting}` (or an admin key), "
            f"which may {MAY[scope]}."
        )
        if note not in route.description:  # routers are module-level: one note per app is one
            route.description = f"{route.description.rstrip()}\n\n{note}".lstrip()
