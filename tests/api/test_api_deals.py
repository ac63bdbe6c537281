"""The API's deals: named like organisations, `since` (the first touch), sorted and searched
as the deals page, paged in their order, and renamed with PATCH."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.conftest import Event, error_of, pending, upload
from tests.conftest import ApiClient

LATER = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)


@pytest.fixture
def deals(api: ApiClient) -> dict[str, dict[str, Any]]:
    """Three deals: Contoso touched twice with a next step, Northwind once, Fabrikam never."""
    upload(api,
           Event("c1", "Contoso intro", hours_ago=50, attendees=("lena@sales.contoso.co.uk",)),
           Event("c2", "Contoso pilot", hours_ago=5, attendees=("lena@sales.contoso.co.uk",)),
           Event("n1", "Discovery", hours_ago=30, attendees=("kim@northwind-traders.example",)),
           Event("f1", "Fabrikam intro", hours_ago=2, attendees=("ana.souza@gmail.com",)))
    prompts = pending(api)
    for title in ("Contoso intro", "Contoso pilot"):
        api.post(f"/api/v1/prompts/{prompts[title]['id']}/answer",
                 json={"outcome": "next_step",
                       "next_step": {"summary": "Pricing", "start": LATER.isoformat()}})
    # No after-sale touches: the won deal has nothing planned next.
    api.post(f"/api/v1/prompts/{prompts['Discovery']['id']}/answer",
             json={"outcome": "yes", "after_sale": []})
    return {deal["name"]: deal for deal in api.get("/api/v1/deals").get_json()["items"]}


def test_deals_are_named_like_organisations_with_since(deals: dict[str, dict[str, Any]]
                                                       ) -> None:
    assert set(deals) == {"Contoso", "Northwind Traders", "Ana Souza"}
    contoso = deals["Contoso"]
    assert contoso["touches"] == 2 and contoso["overdue"] is False
    since = datetime.fromisoformat(contoso["since"])
    last = datetime.fromisoformat(contoso["last_touch"])
    assert last - since == timedelta(hours=45)
    assert deals["Ana Souza"]["since"] is None and deals["Ana Souza"]["last_touch"] is None


def test_sort_and_search_as_the_page(api: ApiClient, deals: dict[str, dict[str, Any]]) -> None:
    def order(query: str) -> list[str]:
        response = api.get(f"/api/v1/deals?{query}")
        assert response.status_code == 200, response.get_json()
        return [d["name"] for d in response.get_json()["items"]]

    assert order("sort=next") == ["Contoso", "Ana Souza", "Northwind Traders"]
    assert order("sort=touches") == ["Contoso", "Northwind Traders", "Ana Souza"]
    assert order("sort=last_touch") == ["Contoso", "Northwind Traders", "Ana Souza"]
    assert order("sort=status") == ["Contoso", "Ana Souza", "Northwind Traders"]
    assert order("q=pilot") == ["Contoso"]  # a meeting's title
    assert order("q=kim%40northwind") == ["Northwind Traders"]  # an attendee's email
    assert order("q=souza&sort=touches") == ["Ana Souza"]
    assert order("q=contoso&status=won") == []
    assert error_of(api.get("/api/v1/deals?sort=name"), 422)["field"] == "sort"
    assert error_of(api.get("/api/v1/deals?q=" + "x" * 201), 422)["field"] == "q"


def test_sorted_pages_follow_their_cursor(api: ApiClient,
                                          deals: dict[str, dict[str, Any]]) -> None:
    first = api.get("/api/v1/deals?sort=touches&limit=2").get_json()
    assert [d["name"] for d in first["items"]] == ["Contoso", "Northwind Traders"]
    rest = api.get(f"/api/v1/deals?sort=touches&limit=2&cursor={first['next_cursor']}")
    assert [d["name"] for d in rest.get_json()["items"]] == ["Ana Souza"]
    assert rest.get_json()["next_cursor"] is None
    # A cursor of one order is no cursor of another.
    other = api.get(f"/api/v1/deals?sort=next&limit=2&cursor={first['next_cursor']}")
    assert error_of(other, 422)["field"] == "cursor"


def test_rename_with_patch(api: ApiClient, other_api: ApiClient,
                           deals: dict[str, dict[str, Any]]) -> None:
    deal_id = deals["Ana Souza"]["id"]
    response = api.client.patch(f"/api/v1/deals/{deal_id}", headers=api.headers,
                                json={"name": "  Souza   Consulting "})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["name"] == "Souza Consulting"
    assert api.get(f"/api/v1/deals/{deal_id}").get_json()["name"] == "Souza Consulting"
    for body, field in (({"name": ""}, "name"), ({"name": "   "}, "name"),
                        ({"name": "x" * 201}, "name"), ({}, "name")):
        refused = api.client.patch(f"/api/v1/deals/{deal_id}", headers=api.headers, json=body)
        assert error_of(refused, 422)["field"] == field
    stolen = other_api.client.patch(f"/api/v1/deals/{deal_id}", headers=other_api.headers,
                                    json={"name": "Stolen"})
    assert error_of(stolen, 404)["code"] == "not_found"
    assert api.get(f"/api/v1/deals/{deal_id}").get_json()["name"] == "Souza Consulting"
