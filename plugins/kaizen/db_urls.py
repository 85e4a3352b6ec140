"""PostgreSQL URLs: one place for the rewrites every stage and both stacks need.

Standard library only, so any layer (and the serving environment) may import it.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


def component_url(admin_url: str, name: str, password: str) -> str:
    """The admin URL with the component's role, password and database."""
    parts = urlsplit(admin_url)
    netloc = f"{quote(name, safe='')}:{quote(password, safe='')}@{parts.hostname}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, f"/{name}", parts.query, ""))


def redact(url: str) -> str:
    """A URL safe to print: the password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def sqlalchemy_url(url: str) -> str:
    """The libpq URL for SQLAlchemy with psycopg2 (SQLAlchemy 2.1 maps postgresql:// to psycopg 3)."""
    return url.replace("postgresql://", "postgresql+psycopg2://", 1)
