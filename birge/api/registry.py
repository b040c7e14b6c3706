"""Apps add their API routes here from their ``api.py`` (imported in ``birge.api.apps``)."""

ROUTES: list[tuple[str, type, str]] = []
EXTRA: list[tuple[str, object, str]] = []


def route(prefix: str, basename: str):
    def decorator(viewset):
        ROUTES.append((prefix, viewset, basename))
        return viewset

    return decorator


def extra(path: str, view, name: str) -> None:
    EXTRA.append((path, view, name))
