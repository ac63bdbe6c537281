"""The compact inbox in a real browser (Debian's Chromium via Playwright), at 1280 and 390 px:
answering by keyboard (j/k, y, n, s then Enter, z, d, ?) with the focus landing on the next
row after each answer, several prompts snoozed at once, and the search. It counts the keys it
takes to answer ten prompts. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page

from calsync.models import Prompt, User
from tests.browser.conftest import ARTIFACTS, fits, sign_in
from tests.web.conftest import Seed, load, seed_meetings

COMPANIES = ("Northwind", "Contoso", "Fabrikam", "Tailspin", "Woodgrove", "Litware",
             "Adatum", "Proseware", "Lucerne", "Wingtip", "Coho", "Margie", "Humongous",
             "Alpine", "Bellows", "Fourth")
# One row's answer: yes, no, or the suggested next step planned with Enter.
ANSWERS = (["y"], ["n"], ["s", "Enter"])
FLASHES = {"y": "marked as a yes", "n": "marked as a no", "s": "Next step planned"}


def _focused_row(page: Page) -> str | None:
    return page.evaluate("document.activeElement?.closest('article.row')?.id ?? null")


def _focus_lands_on(page: Page, row: str) -> None:
    """The page focuses `row` once it has loaded (its load handler runs after the flash is
    on screen): wait for it, for at most Playwright's default timeout."""
    page.wait_for_function("id => document.activeElement?.closest('article.row')?.id === id",
                           arg=row)


def _row_ids(page: Page) -> list[str]:
    return page.eval_on_selector_all("article.row", "rows => rows.map(r => r.id)")



def _unnamed(page: Page) -> list[str]:
    """The controls with no name a screen reader could read."""
    return page.evaluate("""() => [...document.querySelectorAll(
        'main input:not([type=hidden]), main select, main textarea, main button')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                     && !(e.textContent || '').trim())
        .map(e => e.outerHTML.slice(0, 80))""")


def _act(page: Page, keys: list[str], flash: str) -> None:
    """Press `keys` on the focused row; the page comes back with the focus on the row that
    followed it."""
    rows = _row_ids(page)
    following = rows[rows.index(_focused_row(page) or "") + 1]
    with page.expect_navigation():
        for key in keys:
            page.keyboard.press(key)
    assert flash in page.locator(".flash").first.inner_text()
    _focus_lands_on(page, following)


@pytest.mark.parametrize("width", [1280, 390])
def test_a_rep_clears_the_inbox_by_keyboard(live_app: tuple[str, Flask], page: Page,
                                            make_user, width: int) -> None:  # type: ignore[no-untyped-def]
    url, app = live_app
    user: User = make_user()
    # Sixteen prospects of sixteen companies, ended an hour apart: newest first in the inbox.
    ids = seed_meetings(app, user, *(
        Seed(f"{name} call", hours_ago=3 + n, attendees=(f"buyer@{name.lower()}.example",))
        for n, name in enumerate(COMPANIES)))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": width, "height": 844 if width == 390 else 900})
    sign_in(page, url, user.email)
    page.goto(url)
    assert page.title() == "(16) Inbox · calsync"
    fits(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"inbox-compact-{width}.png"), full_page=True)

    # j and k move between the rows.
    rows = _row_ids(page)
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert _focused_row(page) == rows[1]
    page.keyboard.press("k")
    assert _focused_row(page) == rows[0]

    # Ten prompts answered: yes, no, the suggested next step, and again; each time the
    # focus is on the next row when the page comes back, so the next key acts on it.
    page.goto(url)
    keystrokes = 1
    page.keyboard.press("j")
    for n in range(10):
        keys = ANSWERS[n % len(ANSWERS)]
        _act(page, keys, FLASHES[keys[0]])
        keystrokes += len(keys)
    assert keystrokes == 14
    print(f"\nkeystrokes to answer 10 prompts (yes, no, next step): {keystrokes}")
    assert page.title() == "(6) Inbox · calsync"
    outcomes = [load(app, Prompt, ids[f"{name} call"]).outcome for name in COMPANIES[:10]]
    assert outcomes == ["yes", "no", "next_step"] * 3 + ["yes"]

    # z snoozes till tomorrow, d is "not a sales meeting"; the focus moves on each time.
    _act(page, ["z"], "Snoozed")
    _act(page, ["d"], "is not a sales meeting")
    assert load(app, Prompt, ids["Coho call"]).status == "snoozed"
    assert load(app, Prompt, ids["Margie call"]).dismiss_reason == "not_sales"

    # ? lists the keys; Escape closes the list.
    page.keyboard.press("?")
    keys_list = page.locator("dialog#keys")
    assert keys_list.is_visible() and "Snooze till tomorrow" in keys_list.inner_text()
    if width == 1280:
        page.screenshot(path=str(ARTIFACTS / "inbox-keys-help.png"))
    page.keyboard.press("Escape")
    assert not keys_list.is_visible()

    # o opens the focused row in place: its answer form fits one phone screen.
    page.keyboard.press("o")
    row = page.locator(f"#{_focused_row(page)}")
    assert row.locator("button:has-text('Plan next step')").is_visible()
    box = row.bounding_box()
    assert box is not None and box["height"] <= 844, box
    assert _unnamed(page) == []
    fits(page)
    row.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"inbox-open-{width}.png"))
    page.keyboard.press("o")
    assert not row.locator("button:has-text('Plan next step')").is_visible()

    # Two selected, snoozed for a week at once.
    page.locator("article.row", has_text="Humongous call").locator("input.pick").check()
    page.locator("article.row", has_text="Alpine call").locator("input.pick").check()
    page.click("form#bulk button:has-text('Snooze a week')")
    assert "Snoozed 2 prompts until" in page.locator(".flash").inner_text()
    assert page.title() == "(2) Inbox · calsync"
    assert load(app, Prompt, ids["Alpine call"]).status == "snoozed"
    _focus_lands_on(page, _row_ids(page)[0])  # the keys carry on at the top

    # Select all ticks every row; unticking one unticks "all".
    page.check("#select-all")
    assert page.locator("input.pick:checked").count() == 2
    page.keyboard.press("j")  # from "select all" to the first row
    page.keyboard.press("x")
    assert page.locator("input.pick:checked").count() == 1
    assert not page.is_checked("#select-all")

    # The search: an attendee's address; the title still counts everything waiting.
    page.keyboard.press("/")
    page.keyboard.type("buyer@bellows")
    page.keyboard.press("Enter")
    page.wait_for_url("**/?q=*")
    assert page.locator("article.row").all_inner_texts()[0].strip().startswith("Bellows call")
    assert page.locator("article.row").count() == 1
    assert "1 matching “buyer@bellows” of 2 waiting" in page.inner_text("main")
    assert page.title() == "(2) Inbox · calsync"
    fits(page)
    page.screenshot(path=str(ARTIFACTS / f"inbox-search-{width}.png"), full_page=True)
    assert errors == []


@pytest.mark.parametrize("width", [1280, 390])
def test_changing_the_promised_channel_is_pointed_out(live_app: tuple[str, Flask], page: Page,
                                                      make_user, width: int) -> None:  # type: ignore[no-untyped-def]
    url, app = live_app
    user: User = make_user()
    seed_meetings(app, user, Seed("Alpine discovery", hours_ago=5,
                                  attendees=("cio@alpine.example",)))
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, url, user.email)
    page.goto(url)
    row = page.locator("article.row", has_text="Alpine discovery")
    row.locator("summary").first.click()
    row.locator("input[name=summary]").fill("Call to agree the pilot")
    row.locator("select[name=channel]").select_option("call")
    # A date well ahead, so the follow-up is not yet due: moved into the past below.
    with page.expect_navigation():
        row.locator("button:has-text('Plan next step')").click()
    _due_now(app, user)
    page.goto(url)
    row = page.locator("article.row", has_text="Call to agree the pilot")
    row.locator("summary").first.click()
    note = row.locator("p.promised")
    assert not note.is_visible()  # the promised channel is the one chosen: nothing to say
    row.locator("select[name=channel]").select_option("email")
    assert note.is_visible()
    assert note.inner_text() == ("You said you would follow up with a call: change the "
                                 "channel only if you told them.")
    fits(page)
    row.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"inbox-promised-channel-{width}.png"))
    row.locator("select[name=channel]").select_option("call")
    assert not note.is_visible()


def _due_now(app: Flask, user: User) -> None:
    """The follow-up planned has taken place: its prompt is due."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from calsync.db import get_db
    from calsync.models import FollowUp
    from calsync.services import prompts

    with app.app_context(), get_db().session() as session:
        for followup in session.scalars(select(FollowUp)):
            length = followup.end - followup.start
            followup.end = datetime.now(UTC) - timedelta(hours=1)
            followup.start = followup.end - length
        session.commit()
        prompts.create_due_prompts(session, app.extensions["calsync.settings"],
                                   datetime.now(UTC), user_id=user.id)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_prompt_page_fits_a_phone(live_app: tuple[str, Flask], page: Page, make_user,  # type: ignore[no-untyped-def]
                                      width: int) -> None:
    url, app = live_app
    user: User = make_user()
    ids = seed_meetings(app, user, Seed("Lucerne pricing call", hours_ago=4,
                                        attendees=("cfo@lucerne.example",)))
    page.set_viewport_size({"width": width, "height": 844 if width == 390 else 900})
    sign_in(page, url, user.email)
    page.goto(f"{url}/prompts/{ids['Lucerne pricing call']}")
    fits(page)
    # The prompt and its actions, from its title to "it didn't happen", within one screen.
    top = page.locator("main h2").first.bounding_box()
    bottom = page.locator("#answer .secondary").bounding_box()
    assert top is not None and bottom is not None
    page.screenshot(path=str(ARTIFACTS / f"prompt-page-{width}.png"), full_page=True)
    assert bottom["y"] + bottom["height"] - top["y"] <= 844
    assert _unnamed(page) == []
    page.screenshot(path=str(ARTIFACTS / f"prompt-page-{width}.png"), full_page=True)


def test_without_script_each_row_still_opens_and_answers(live_app: tuple[str, Flask],
                                                         browser: Browser, make_user) -> None:  # type: ignore[no-untyped-def]
    url, app = live_app
    user: User = make_user()
    ids = seed_meetings(app, user, *(Seed(f"{name} call", hours_ago=3 + n,
                                          attendees=(f"buyer@{name.lower()}.example",))
                                     for n, name in enumerate(COMPANIES[:3])))
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, url, user.email)
    page.goto(url)
    assert page.locator("[data-keys-open]").is_hidden()  # the keys need the script
    assert page.locator("[data-select-all]").is_hidden()
    row = page.locator("article.row", has_text="Contoso call")
    row.locator(":scope > details > summary").click()
    row.locator("button.yes").click()
    assert "marked as a yes" in page.locator(".flash").first.inner_text()
    assert page.url.endswith(f"#prompt-{ids['Fabrikam call']}")  # the next row, in view
    page.locator("article.row", has_text="Northwind call").locator("input.pick").check()
    page.click("form#bulk button:has-text('Not a sales meeting')")
    assert "1 prompt marked not a sales meeting" in page.locator(".flash").inner_text()
    assert load(app, Prompt, ids["Northwind call"]).dismiss_reason == "not_sales"
    context.close()
