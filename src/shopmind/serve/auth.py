"""API keys in ``X-API-Key``: read or admin; 401 without a key, 403 with the wrong one."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader

from shopmind.serve.settings import ServeSettings

HEADER = "X-API-Key"
# auto_error=False: _check decides (401, 403, or open when no key is configured); the scheme
# puts the header in the OpenAPI schema, so /docs has an "Authorize" button that sends it.
_api_key = APIKeyHeader(
    name=HEADER,
    scheme_name="APIKey",
    auto_error=False,
    description="A read key (reads) or an admin key (reads, writes, administration)",
)


def _matches(key: str, keys: list[str]) -> bool:
    # Constant-time comparison against every configured key.
    return any(hmac.compare_digest(key.encode(), k.encode()) for k in keys)


def _check(request: Request, key: str | None, *, admin: bool) -> None:
    settings: ServeSettings = request.app.state.settings
    if settings.is_open:
        return
    if not key:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"missing API key: send it in the {HEADER} header",
            headers={"WWW-Authenticate": HEADER},
        )
    allowed = settings.admin_keys if admin else [*settings.read_keys, *settings.admin_keys]
    if not _matches(key, allowed):
        what = "an admin key" if admin else "a read or admin key"
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"this endpoint needs {what}")


def require_read(request: Request, key: Annotated[str | None, Depends(_api_key)]) -> None:
    """Reads: a read key or an admin key."""
    _check(request, key, admin=False)


def require_admin(request: Request, key: Annotated[str | None, Depends(_api_key)]) -> None:
    """Writes and administration: an admin key."""
    _check(request, key, admin=True)


ReadAccess = Depends(require_read)
AdminAccess = Depends(require_admin)
