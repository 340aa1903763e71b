"""The Keyholder panel in a real browser, against a real Home Assistant.

Log in as the owner, open the Keyholder panel from the sidebar, add "Plumber",
issue a Thursday 13:00-17:00 key on the virtual front door and see it listed with
its status, its week drawn and its passcode shown once. Screenshots go to
``tests/e2e/browser/artifacts/`` (``KEYHOLDER_SCREENSHOT=1`` also refreshes
``docs/panel.png``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
import os
from pathlib import Path
import re
from zoneinfo import ZoneInfo

from playwright.async_api import Locator, Page, async_playwright, expect
import pytest

from custom_components.keyholder.model.access import grant_for_key
from custom_components.keyholder.model.serialize import key_grant_id
from custom_components.keyholder.model.site import Site
from custom_components.keyholder.model.status import key_status
from custom_components.keyholder.model.values import (
    Key,
    Keyholder,
    KeyKind,
    Schedule,
    Window,
)

from .conftest import (
    ARTIFACTS,
    FOREIGN_CODE,
    FOREIGN_SLOT,
    FRONT,
    PASSWORD,
    TIME_ZONE,
    USERNAME,
    RunningHass,
)

pytestmark = pytest.mark.e2e

DOCS_SCREENSHOT = Path(__file__).resolve().parents[3] / "docs" / "panel.png"
TIMEOUT_MS = 20_000
STATUS_LABELS = {
    "active": "Active",
    "outside_schedule": "Outside schedule",
    "upcoming": "Upcoming",
}
# Keyholder's own warnings and errors, and tracebacks through its code.
TROUBLE = re.compile(
    r"(WARNING|ERROR) \(\w+\) \[custom_components\.keyholder|custom_components/keyholder/"
)


def thursday_status(at: datetime) -> str:
    """Return what Keyholder must say of a Thursday 13:00-17:00 key at ``at``."""
    holder = Keyholder(id="plumber", given_name="Plumber")
    key = Key(
        id="k",
        keyholder_id=holder.id,
        kind=KeyKind.PASSCODE,
        lock_ids=frozenset({FRONT}),
        schedule=Schedule(
            windows=(Window(days=frozenset({3}), start=time(13), end=time(17)),)
        ),
    )
    site = Site(keyholders={holder.id: holder})
    site.put_grant(grant_for_key(key, key_grant_id(key.id)))
    site.put_key(key)
    terms = site.terms_of(key)
    return key_status(key, holder, at, ZoneInfo(TIME_ZONE), terms=terms).value


def statuses_between(start: datetime, end: datetime) -> re.Pattern[str]:
    """
    Match the status labels the key may show between two instants.

    Issued now, it is active on Thursdays 13:00-17:00 (Berlin) and outside its
    schedule otherwise; a run crossing 13:00 or 17:00 on a Thursday may see both.
    """
    labels = {STATUS_LABELS[thursday_status(at)] for at in (start, end)}
    return re.compile("^(" + "|".join(map(re.escape, sorted(labels))) + ")$")


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


async def test_issue_a_thursday_key_from_the_panel(
    chromium: str, running_hass: RunningHass
) -> None:
    await in_browser(chromium, running_hass, run_scenario)


async def test_groups_and_adding_a_person_with_access(
    chromium: str, running_hass: RunningHass
) -> None:
    await in_browser(chromium, running_hass, run_access_scenario)


async def in_browser(
    chromium: str,
    running_hass: RunningHass,
    scenario: Callable[[Page, str], Awaitable[None]],
) -> None:
    """Run ``scenario`` in chromium; no page error, no trouble in the log."""
    expect.set_options(timeout=TIMEOUT_MS)
    url = running_hass.url
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 900},
                locale="en-US",
                timezone_id=TIME_ZONE,
                permissions=["clipboard-read", "clipboard-write"],
            )
            context.set_default_timeout(TIMEOUT_MS)
            # A rejected promise nobody handles is a page error "Object" with no
            # stack when its reason is not an Error: log the reason itself.
            await context.add_init_script(
                "window.addEventListener('unhandledrejection', (e) => console.error("
                "'unhandledrejection ' + JSON.stringify(e.reason) + ' at ' + location.href"
                " + ' ' + performance.now()));"
            )
            page = await context.new_page()
            console: list[str] = []
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on(
                "pageerror",
                lambda e: console.append(f"pageerror: {e} {e.stack} {e.message}"),
            )
            await scenario(page, url)
        except Exception:
            if "page" in locals():
                await shot(page, "failure")
            raise
        finally:
            if "console" in locals():
                ARTIFACTS.mkdir(exist_ok=True)
                (ARTIFACTS / "console.txt").write_text("\n".join(console))
            await browser.close()

    assert not [line for line in console if line.startswith("pageerror")], console
    log = running_hass.run.text()
    assert not TROUBLE.search(log), log[-3000:]


async def open_panel(page: Page, url: str) -> None:
    """Log in as the owner and open the Keyholder panel from the sidebar."""
    await page.goto(f"{url}/")
    await page.get_by_label("Username").fill(USERNAME)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    sidebar_item = page.locator("ha-sidebar").get_by_text("Keyholder", exact=True)
    await expect(sidebar_item).to_be_visible()
    await sidebar_item.click()
    await page.wait_for_url(f"{url}/keyholder")


async def run_access_scenario(page: Page, url: str) -> None:
    await open_panel(page, url)
    panel = page.locator("keyholder-panel")
    await expect(panel.locator("ha-card.holder")).to_have_count(1)

    # A group: the front door on Mondays 09:00-12:00.
    await panel.get_by_role("button", name="New group").click()
    form = panel.locator("#group-form")
    await form.get_by_label("Group name").fill("Cleaners")
    await form.get_by_label("Front door").check()
    await form.get_by_label("When").select_option("weekly")
    await form.get_by_label("Mon").check()
    await form.locator("input[name=start_time]").fill("09:00")
    await form.locator("input[name=end_time]").fill("12:00")
    await form.get_by_role("button", name="Save").click()
    group = panel.locator('ha-card.group[data-group="Cleaners"]')
    await expect(group.locator(".when")).to_have_text("Mon 09:00\u201312:00")
    await expect(form).to_have_count(0)

    # Its times changed: saved, and still there after a reload.
    await group.get_by_role("button", name="Edit").click()
    await expect(form.get_by_label("Group name")).to_have_value("Cleaners")
    await form.locator("input[name=start_time]").fill("10:00")
    await form.locator("input[name=end_time]").fill("13:00")
    await form.get_by_role("button", name="Save").click()
    await expect(group.locator(".when")).to_have_text("Mon 10:00\u201313:00")
    await page.reload()
    await expect(group.locator(".when")).to_have_text("Mon 10:00\u201313:00")
    await shot(page, "6-group")

    # Add a person: details, then access (the group), then a generated key.
    await panel.get_by_role("button", name="Add person").click()
    person = panel.locator("#person-form")
    await person.get_by_label("Given name").fill("Carla")
    await person.get_by_role("button", name="Next").click()
    await person.get_by_label("Cleaners").check()
    await person.get_by_role("button", name="Next").click()
    await expect(person.get_by_label("Generate one")).to_be_checked()
    await person.get_by_role("button", name="Add and make key").click()

    # The code, once, with her name and the doors.
    passcode = panel.locator("#passcode")
    await expect(passcode).to_have_text(re.compile(r"^\d{6}$"))
    code = await passcode.inner_text()
    notice = panel.locator(".notice.passcode")
    await expect(notice.locator(".who")).to_have_text("Carla \u00b7 Front door")
    await shot(page, "7-person-code")
    await panel.get_by_role("button", name="Copy").click()
    assert await page.evaluate("navigator.clipboard.readText()") == code

    carla = panel.locator('ha-card.holder[data-keyholder="Carla"]')
    await expect(carla.locator(".access")).to_contain_text("Groups: Cleaners")
    await expect(carla.locator(".key")).to_have_count(1)
    await expect(group.locator(".members")).to_have_text("Members: Carla")
    await panel.get_by_role("button", name="Done").click()
    await expect(passcode).to_have_count(0)
    await page.reload()
    await expect(carla.locator(".key")).to_have_count(1)
    assert code not in await page.content()
    assert code not in await panel.inner_html()

    await edit_key_schedule(page, panel, carla.locator(".key"))
    await remove_person(page, panel, carla, group)


async def edit_key_schedule(page: Page, panel: Locator, key: Locator) -> None:
    """Narrow Carla's key to Mondays 11:00-12:00; a bad schedule changes nothing."""
    await expect(key).to_contain_text("Whenever their access allows")
    await key.get_by_role("button", name="Edit schedule").click()
    form = panel.locator("#schedule-form")
    await expect(form.get_by_label("When")).to_have_value("always")
    # Weekdays without times: Keyholder's message, the key as it was.
    await form.get_by_label("When").select_option("weekly")
    await form.get_by_label("Mon").check()
    await form.get_by_role("button", name="Save").click()
    await expect(panel.locator(".notice.error")).to_contain_text(
        "needs both a start time and an end time"
    )
    await expect(form).to_have_count(1)
    await expect(key).to_contain_text("Whenever their access allows")

    await form.locator("input[name=start_time]").fill("11:00")
    await form.locator("input[name=end_time]").fill("12:00")
    await form.get_by_role("button", name="Save").click()
    await expect(form).to_have_count(0)
    await expect(panel.locator(".notice.error")).to_have_count(0)
    await expect(key).to_contain_text("Mon 11:00\u201312:00")
    await expect(key.locator(".day[data-day=mon] .fill")).to_have_count(1)
    await expect(key.locator(".fill")).to_have_count(1)
    await page.reload()
    await expect(key).to_contain_text("Mon 11:00\u201312:00")
    # Opened again, the form shows the schedule saved.
    await key.get_by_role("button", name="Edit schedule").click()
    await expect(form.get_by_label("When")).to_have_value("weekly")
    await expect(form.locator("input[name=start_time]")).to_have_value("11:00")
    await form.get_by_role("button", name="Cancel").click()
    await expect(form).to_have_count(0)
    await shot(page, "8-key-schedule")


async def remove_person(
    page: Page, panel: Locator, person: Locator, group: Locator
) -> None:
    """Remove Carla: asked once more, then her card and membership are gone."""
    await person.get_by_role("button", name="Remove", exact=True).click()
    confirm = person.get_by_role("button", name="Really remove?")
    await expect(confirm).to_be_visible()
    await expect(person).to_have_count(1)
    await confirm.click()
    await expect(person).to_have_count(0)
    await expect(group.locator(".members")).to_have_text("Members: no members")
    front = panel.locator('ha-card.lock[data-lock="Front door"]')
    await expect(front.locator(".muted").first).to_contain_text("0/0 codes confirmed")
    await page.reload()
    await expect(panel.locator("ha-card.holder")).to_have_count(1)
    await expect(person).to_have_count(0)


async def run_scenario(page: Page, url: str) -> None:
    # Log in: Home Assistant sends the browser to its login page first.
    await page.goto(f"{url}/")
    await page.get_by_label("Username").fill(USERNAME)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()

    # The sidebar of an administrator has the Keyholder panel.
    sidebar_item = page.locator("ha-sidebar").get_by_text("Keyholder", exact=True)
    await expect(sidebar_item).to_be_visible()
    await sidebar_item.click()
    await page.wait_for_url(f"{url}/keyholder")
    panel = page.locator("keyholder-panel")
    alice = panel.locator('ha-card.holder[data-keyholder="Alice Owner"]')
    await expect(alice).to_be_visible()
    # Alice has no key: she must not look active.
    await expect(alice.locator(":scope > .row .chip")).to_have_text("No key")
    front = panel.locator('ha-card.lock[data-lock="Front door"]')
    await expect(front.locator(".chip")).to_have_text("In sync")
    # The code someone else programmed: its slot is shown, the code never.
    await expect(front.locator(".unmanaged")).to_have_text(
        f"Slot {FOREIGN_SLOT} holds a code Keyholder does not manage."
    )
    assert FOREIGN_CODE not in await page.content()
    assert FOREIGN_CODE not in await panel.inner_html()
    await shot(page, "1-opened")

    # Add the plumber: the key form opens for them at once.
    await panel.get_by_role("button", name="Add keyholder").click()
    await panel.get_by_label("Given name").fill("Plumber")
    await panel.get_by_role("button", name="Add", exact=True).click()
    form = panel.locator("#key-form")
    await expect(form.get_by_label("Keyholder")).to_have_value(re.compile(r"\w+"))
    await expect(form.locator("select[name=keyholder] option:checked")).to_have_text(
        "Plumber"
    )

    # Thursday 13:00-17:00 on the front door (the only lock: ticked already).
    await form.get_by_label("Thu").check()
    await form.locator("input[name=start_time]").fill("13:00")
    await form.locator("input[name=end_time]").fill("17:00")
    await expect(form.get_by_label("Front door")).to_be_checked()
    await shot(page, "2-issue-form")
    before = datetime.now(UTC)
    await form.get_by_role("button", name="Issue").click()

    # The passcode, shown once.
    passcode = panel.locator("#passcode")
    await expect(passcode).to_have_text(re.compile(r"^\d{6}$"))
    code = await passcode.inner_text()

    # The key is listed under the plumber with its status and its week.
    plumber = panel.locator('ha-card.holder[data-keyholder="Plumber"]')
    key = plumber.locator(".key")
    await expect(key).to_have_count(1)
    after = datetime.now(UTC)
    chip = key.locator(".chip")
    await expect(chip).to_have_text(statuses_between(before, after))
    await expect(key).to_contain_text("Thu 13:00\u201317:00")
    await expect(key).to_contain_text("on Front door")
    await expect(key.locator(".day[data-day=thu] .fill")).to_have_count(1)
    await expect(key.locator(".fill")).to_have_count(1)
    fill = key.locator(".day[data-day=thu] .fill")
    style = await fill.get_attribute("style") or ""
    assert "top:54.16" in style, style  # 13:00 is 54.17 % down the day
    assert "height:16.66" in style, style  # 4 hours
    await expect(plumber.locator(":scope > .row .chip")).to_have_text(
        statuses_between(before, datetime.now(UTC))
    )
    await expect(front.locator(".chip")).to_have_text("In sync")
    await shot(page, "3-issued")
    if os.environ.get("KEYHOLDER_SCREENSHOT"):
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        await page.screenshot(path=str(DOCS_SCREENSHOT))

    # The copy button puts the code on the clipboard.
    await panel.get_by_role("button", name="Copy").click()
    await expect(panel.get_by_role("button", name="Copied")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == code

    # Shown once: after "Done" and a reload, the code is nowhere on the page.
    await panel.get_by_role("button", name="Done").click()
    await expect(passcode).to_have_count(0)
    await page.reload()
    await expect(plumber.locator(".key")).to_have_count(1)
    assert code not in await page.content()
    assert code not in await panel.inner_html()

    # A new passcode replaces the old one, shown once again.
    await key.get_by_role("button", name="New passcode").click()
    await expect(passcode).to_have_text(re.compile(r"^\d{6}$"))
    assert await passcode.inner_text() != code
    await panel.get_by_role("button", name="Done").click()

    # Bad input is refused with Keyholder's message, and nothing is issued.
    await plumber.get_by_role("button", name="Issue key").click()
    await form.get_by_label("Mon").check()
    await form.get_by_role("button", name="Issue").click()
    await expect(panel.locator(".notice.error")).to_contain_text(
        "needs both a start time and an end time"
    )
    await form.get_by_role("button", name="Close").click()
    await expect(key).to_have_count(1)

    # Block and unblock the plumber.
    await plumber.get_by_role("button", name="Block").click()
    await expect(plumber.locator(":scope > .row .chip")).to_have_text("Blocked")
    await expect(key.locator(".chip")).to_have_text("Blocked")
    await plumber.get_by_role("button", name="Unblock").click()
    await expect(key.locator(".chip")).to_have_text(
        statuses_between(before, datetime.now(UTC))
    )

    # Cancelling asks once more, then the key is cancelled everywhere.
    await key.get_by_role("button", name="Cancel key").click()
    await key.get_by_role("button", name="Really cancel?").click()
    await expect(key.locator(".chip")).to_have_text("Cancelled")
    await expect(key.get_by_role("button")).to_have_count(0)
    # Their only key cancelled, the plumber has no key (cancelled is not expired).
    await expect(plumber.locator(":scope > .row .chip")).to_have_text("No key")
    await shot(page, "4-cancelled")

    # A one-day visit next week (no weekdays): described and drawn by its date.
    today = datetime.now(ZoneInfo(TIME_ZONE)).date()
    visit = today + timedelta(days=9 - today.weekday())  # next week's Wednesday
    await plumber.get_by_role("button", name="Issue key").click()
    await form.locator("input[name=valid_from]").fill(visit.isoformat())
    await form.locator("input[name=valid_until]").fill(visit.isoformat())
    await form.get_by_role("button", name="Issue").click()
    await panel.get_by_role("button", name="Done").click()
    one_off = plumber.locator(".key:not(.ended)")
    await expect(one_off.locator(".chip")).to_have_text("Upcoming")
    await expect(one_off).not_to_contain_text("Any time")
    await expect(one_off).to_contain_text(f"{visit:%b} {visit.day}, {visit.year}")
    week = one_off.locator(".week")
    monday = visit - timedelta(days=2)
    await expect(week).to_have_attribute("data-monday", monday.isoformat())
    await expect(week.locator(".label").nth(2)).to_have_text(f"Wed {visit.day}")
    await expect(one_off.locator(".fill")).to_have_count(1)
    fill = one_off.locator(".day[data-day=wed] .fill")
    style = await fill.get_attribute("style") or ""
    assert "top:0%" in style, style
    assert "height:100%" in style, style  # until the end of that day
    await shot(page, "4b-one-off")

    # On a phone the sidebar folds away behind the menu button of the panel's bar.
    await page.set_viewport_size({"width": 390, "height": 844})
    menu = panel.locator("ha-menu-button")
    await expect(menu).to_be_visible()
    await expect(plumber).to_be_visible()
    await shot(page, "5-phone")
    await menu.click()
    await expect(sidebar_item).to_be_visible()
