"""Migration 0009: deals still named after their domain or free-mail address get the
organisation's (or person's) name; names the user typed stay; downgrading gives them back."""

from __future__ import annotations

import sqlalchemy as sa

from calsync import migrate

DEALS = [  # id, key, name as calsync 0008 left it
    (1, "domain:sales.northwind-traders.co.uk", "sales.northwind-traders.co.uk"),
    (2, "domain:contoso.example", "Contoso Group (renamed)"),
    (3, "email:ana.souza@gmail.com", "ana.souza@gmail.com"),
    (4, "email:bob@gmail.com", "Bob Baker"),  # the calendar's name for him: kept
    (5, "title:acme demo", "Acme demo"),
    (6, None, "Made by hand"),
]


def _names(url: str) -> dict[int, str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(sa.text("SELECT id, name FROM deals")).all())
    finally:
        engine.dispose()


def test_deals_named_by_calsync_get_the_new_names_and_back(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url, "0008")
    engine = sa.create_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO users (id, email, timezone, internal_domains, feed_token,"
                " created_at) VALUES (1, 'ann@seller.example', 'UTC', '[]', 'feed',"
                " CURRENT_TIMESTAMP)"))
            for deal_id, key, name in DEALS:
                connection.execute(sa.text(
                    "INSERT INTO deals (id, user_id, name, key, status, created_at)"
                    " VALUES (:id, 1, :name, :key, 'open', CURRENT_TIMESTAMP)"),
                    {"id": deal_id, "name": name, "key": key})
    finally:
        engine.dispose()
    migrate.upgrade(empty_database_url, "0009")
    assert _names(empty_database_url) == {
        1: "Northwind Traders", 2: "Contoso Group (renamed)", 3: "Ana Souza", 4: "Bob Baker",
        5: "Acme demo", 6: "Made by hand"}
    migrate.downgrade(empty_database_url, "0008")
    assert _names(empty_database_url) == {deal_id: name for deal_id, _, name in DEALS}
