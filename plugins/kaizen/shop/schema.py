"""The demo shop's schema: numbered SQL files, applied once each, in order.

Only the demo shop (``kaizen shop load|generate``, ``make demo``) uses it: a real shop's
database has its own schema, which Kaizen reads through a mapping and never changes.
"""

from __future__ import annotations

from importlib import resources

from kaizen.database import apply_migrations

MIGRATIONS = resources.files("kaizen.shop") / "migrations"


def migrate(shop_db_url: str) -> list[str]:
    """Create or update the demo shop's tables; the migrations applied now."""
    return apply_migrations(shop_db_url, MIGRATIONS, "kaizen.shop.migrate")
