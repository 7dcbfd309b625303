"""A reviewer works a held video in the console in headless chromium: signs in with their
key, takes the next case with the keyboard, unblurs a frame, removes the video under a
policy code; the author appeals; a second reviewer decides the appeal (the first cannot).
A forged form and an expired session are refused. The case page's screenshot is kept."""

from __future__ import annotations

from tests.browser.conftest import ARTIFACTS, ConsoleSite
from tests.e2e.review_helpers import held_with_media, staff


async def sign_in(site: ConsoleSite, key: str) -> None:
    b = site.browser
    await b.open("/console/sign-in")
    await b.type("#key", key)
    await b.click("#sign-in")
    await b.wait(lambda: b.driver.current_url.endswith("/console/"), "the queues page")


async def test_a_reviewer_works_a_case_and_a_second_reviewer_decides_the_appeal(
        site: ConsoleSite):
    api, b = site.api, site.browser
    _, ada = await api.member("ada")
    first_id, first = await staff(api, "first reviewer")
    second_id, second = await staff(api, "second reviewer")
    gid, case_id, _ = await held_with_media(api, ada, "a harbour at dusk")

    await sign_in(site, first)
    assert "Safety" in await b.text("table.queues")
    await b.press("n")  # the next case of the first queue listed with one waiting
    await b.wait(lambda: f"/console/cases/{case_id}" in b.driver.current_url, "the case")
    assert "You hold" not in await b.text()
    await b.press("c")  # claim
    await b.wait(lambda: "You hold this case" in b.driver.page_source, "the claim")

    frame = await b.find('figure[data-item="frame:0"] img')
    assert "unblurred" not in str(await b.run(frame.get_attribute, "src"))
    await b.click('figure[data-item="frame:0"] [data-unblur]')
    await b.wait(lambda: b.driver.execute_script(
        "const i = document.querySelector('figure[data-item=\"frame:0\"] img');"
        "return i.complete && i.naturalWidth > 0 && i.src.includes('unblurred=true');"),
        "the unblurred frame")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await b.run(b.driver.save_screenshot, str(ARTIFACTS / "console-case.png"))
    assert (ARTIFACTS / "console-case.png").stat().st_size > 10_000

    await b.click('form.decide input[name="decision"][value="remove"]')
    await b.run(lambda: b.driver.find_element(
        "css selector", "form.decide select[name='policy_code']").send_keys("SAFETY-1"))
    await b.click("form.decide button[type=submit]")
    await b.wait(lambda: "Decided." in b.driver.page_source, "the decision")
    assert await b.text("#case-state") == "decided"

    await api.call("POST", f"/review/cases/{case_id}/appeal", ada,
                   json={"text": "it is fireworks, not a fire"})
    await b.open(f"/console/cases/{case_id}")
    assert "another reviewer decides the appeal" in await b.text()
    assert not await b.exists("form.decide")
    await b.click("#sign-out")
    await b.wait(lambda: "/console/sign-in" in b.driver.current_url, "signed out")

    await sign_in(site, second)
    await b.open(f"/console/cases/{case_id}")
    await b.click("#claim")
    await b.wait(lambda: "You hold this case" in b.driver.page_source, "the appeal claim")
    await b.click('form.decide input[name="decision"][value="approve"]')
    await b.run(lambda: b.driver.find_element(
        "css selector", "form.decide select[name='policy_code']").send_keys("OK-1"))
    await b.click("form.decide button[type=submit]")
    await b.wait(lambda: "Appeal decided." in b.driver.page_source, "the appeal decision")
    assert await b.text("#case-state") == "closed"

    case = await api.call("GET", f"/review/cases/{case_id}", api.admin)
    assert (case["decided_by"], case["decision"], case["appeal_decided_by"],
            case["appeal_decision"]) == (first_id, "remove", second_id, "approve")
    history = await api.call("GET", f"/admin/audit/{case_id}?limit=200", api.admin)
    views = [(e["actor_id"], e["summary"]["item"], e["summary"]["unblurred"])
             for e in history["items"] if e["event"] == "EvidenceViewed"]
    assert (first_id, "frame:0", False) in views and (first_id, "frame:0", True) in views
    # the appeal overturned the removal: the video is no longer rejected
    assert (await api.call("GET", f"/generations/{gid}", ada))["state"] != "rejected"


async def test_a_forged_form_and_an_expired_session_are_refused(site: ConsoleSite):
    api, b = site.api, site.browser
    _, ada = await api.member("ada")
    _, reviewer = await staff(api, "reviewer")
    _, case_id, _ = await held_with_media(api, ada)
    await sign_in(site, reviewer)
    await b.open(f"/console/cases/{case_id}")

    # A form whose token is not this session's (what a page elsewhere would have to send).
    await b.script("document.querySelector('form input[name=csrf]').value = arguments[0];"
                   "document.querySelector('#claim').closest('form')"
                   ".querySelector('input[name=csrf]').value = arguments[0];", "f" * 64)
    await b.click("#claim")
    await b.wait(lambda: "csrf-failed" in b.driver.page_source, "the refusal")
    assert "403" in await b.text("h1")
    claim = await api.call("GET", f"/review/cases/{case_id}", reviewer)
    assert claim["claimed_by"] is None

    api.clock.advance(hours=8, minutes=1)
    await b.open(f"/console/cases/{case_id}")
    await b.wait(lambda: "/console/sign-in" in b.driver.current_url, "back to sign-in")
    assert "Your session expired" in await b.text()
