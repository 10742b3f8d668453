"""A new browser's first tab is about:blank: no New Tab page, no request to a search engine."""

from __future__ import annotations

import json

from sessions_app.webjs.driver.first_tab import open_first_tab_blank, preferences_path


def test_a_started_browser_opens_about_blank_and_nothing_else(start_browser):
    browser = start_browser()
    targets = browser.driver.execute_cdp_cmd("Target.getTargets", {})["targetInfos"]
    assert [t["url"] for t in targets if t["type"] == "page"] == ["about:blank"]
    history = browser.driver.execute_cdp_cmd("Page.getNavigationHistory", {})
    assert [entry["url"] for entry in history["entries"]] == ["about:blank"]


def test_a_profile_a_browser_left_keeps_its_other_preferences(tmp_path):
    path = preferences_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"intl": {"accept_languages": "pt-BR"}, "session": {"restore_on_startup": 5}}))
    open_first_tab_blank(tmp_path)
    preferences = json.loads(path.read_text())
    assert preferences["intl"] == {"accept_languages": "pt-BR"}
    assert preferences["session"] == {"restore_on_startup": 4, "startup_urls": ["about:blank"]}


def test_a_restored_profile_without_preferences_gets_them(tmp_path):
    open_first_tab_blank(tmp_path)
    assert json.loads(preferences_path(tmp_path).read_text())["session"]["startup_urls"] == ["about:blank"]


def test_an_unreadable_preferences_file_is_replaced(tmp_path):
    path = preferences_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text('{"session": ')
    open_first_tab_blank(tmp_path)
    blank_first = {"session": {"restore_on_startup": 4, "startup_urls": ["about:blank"]}}
    assert json.loads(path.read_text()) == blank_first
    assert [p.name for p in path.parent.iterdir()] == ["Preferences"]
