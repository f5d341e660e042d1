"""The faces of the service: the FastAPI app (HTTP API, Prometheus metrics, web UI)."""

from shopmind.serve.settings import ServeSettings

__all__ = ["ServeSettings", "create_app"]


def __getattr__(name: str) -> object:
    # create_app pulls in FastAPI and the engine; importing the settings alone stays cheap.
    if name == "create_app":
        from shopmind.serve.app import create_app

        return create_app
    raise AttributeError(name)
