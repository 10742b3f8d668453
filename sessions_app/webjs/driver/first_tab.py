"""The tab a new browser opens before the driver navigates it: about:blank, never the New Tab page.

chromedriver launches Chrome without a URL (it turns any URL argument into a switch), so the
first tab opens Chrome's New Tab page. With Debian's Chromium and a search engine other than
Google, that page first navigates to the engine's own start page (https://start.duckduckgo.com/
here), then falls back to a WebUI page. Every browser start therefore made a request to a
third party, and chromedriver holds the session's first command until that tab has loaded:
with four starts on two cores, the first command of a start waited up to 5.6 s, and half of
that with the CPU idle (bench/connect.py, issue 18).

Chrome's own startup preference (open these URLs: about:blank) replaces the New Tab page.
Snapshots do not carry ``Preferences`` (see ``snapshot``), so a restored profile gets the
file from here; a profile a browser left behind keeps its other preferences."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# components/sessions: SessionStartupPref::URLS is 4.
OPEN_STARTUP_URLS = 4
FIRST_TAB_URL = "about:blank"


def preferences_path(profile: Path) -> Path:
    return profile / "Default" / "Preferences"


def open_first_tab_blank(profile: Path) -> None:
    """Sets the profile's startup preference to open about:blank, keeping every other
    preference. A file Chrome could not read either is replaced (Chrome would reset it)."""
    path = preferences_path(profile)
    preferences: dict[str, Any] = {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            preferences = loaded
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        logger.warning("unreadable %s replaced: %s", path, exc)
    session = preferences.get("session")
    if not isinstance(session, dict):
        session = preferences["session"] = {}
    session["restore_on_startup"] = OPEN_STARTUP_URLS
    session["startup_urls"] = [FIRST_TAB_URL]
    path.parent.mkdir(parents=True, exist_ok=True)
    written = path.with_name(path.name + ".blazz-tmp")
    written.write_text(json.dumps(preferences), encoding="utf-8")
    os.replace(written, path)
