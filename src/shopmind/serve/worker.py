"""The app of one ``shopmind serve --workers N`` process: it ends when the master does.

uvicorn's master process starts the workers and restarts one that dies; if the master itself
is killed outright, nothing stops them and they keep the port. ``shopmind serve`` names
itself in :data:`SUPERVISOR_ENV`, and each worker arms :func:`die_with_parent` before it
builds the app.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from shopmind.serve.app import create_app
from shopmind.supervision import die_with_parent

#: The master's pid, as ``shopmind serve`` passes it to its workers.
SUPERVISOR_ENV = "SHOPMIND_SUPERVISOR_PID"


def create_worker_app() -> FastAPI:
    """The app, in a worker that stops (cleanly, then at once) when its master dies."""
    parent = os.environ.get(SUPERVISOR_ENV, "").strip()
    if parent.isdigit():
        die_with_parent(int(parent))
    return create_app()
