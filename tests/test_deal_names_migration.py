"""Migration 0009: deals still named after their domain or free-mail address get the
organisation's (or person's) name; names the user typed stay; downgrading gives them back."""

from __future__ import annotations

from calsync import migrate
from tests.migration_rows import pairs, stored_at

DEALS = [  # id, key, name as calsync 0008 left it
    (1, "domain:sales.northwind-traders.co.uk", "sales.northwind-traders.co.uk"),
    (2, "domain:contoso.example", "Contoso Group (renamed)"),
    (3, "email:ana.souza@gmail.com", "ana.souza@gmail.com"),
    (4, "email:bob@gmail.com", "Bob Baker"),  # the calendar's name for him: kept
    (5, "title:acme demo", "Acme demo"),
    (6, None, "Made by hand"),
]
NAMES = "SELECT id, name FROM deals"


def test_deals_named_by_calsync_get_the_new_names_and_back(empty_database_url: str) -> None:
    stored_at(empty_database_url, "0008",
              "INSERT INTO deals (id, user_id, name, key, status, created_at)"
              " VALUES (:id, 1, :name, :key, 'open', CURRENT_TIMESTAMP)",
              [{"id": deal_id, "name": name, "key": key} for deal_id, key, name in DEALS])
    migrate.upgrade(empty_database_url, "0009")
    assert pairs(empty_database_url, NAMES) == {
        1: "Northwind Traders", 2: "Contoso Group (renamed)", 3: "Ana Souza", 4: "Bob Baker",
        5: "Acme demo", 6: "Made by hand"}
    migrate.downgrade(empty_database_url, "0008")
    assert pairs(empty_database_url, NAMES) == {deal_id: name for deal_id, _, name in DEALS}
