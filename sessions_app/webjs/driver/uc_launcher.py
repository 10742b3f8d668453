"""Starting Chrome through undetected-chromedriver (``BLAZZ_BROWSER=uc``) with the local
binaries only, and without its three traps:

- It patches its chromedriver in place and downloads one when it has none. We give it a
  private copy under ``<data_dir>/bin``, patched once before any session runs it (a running
  executable cannot be rewritten: ETXTBSY), so it finds it patched and writes nothing.
- It starts Chrome with ``Popen(stdout=PIPE, stderr=PIPE)`` and never reads the pipes: once
  Chrome has logged 64 KiB it blocks on write(2), a silent hang (F7). uc's module-level
  ``subprocess`` is replaced by a shim that sends Chrome's output to /dev/null, gives it the
  session's environment and hands the Popen back to us (uc drops it: nobody would reap it).
- ``quit()`` SIGKILLs chromedriver without waiting (a zombie) and SIGTERMs Chrome, which
  then exits without writing pending localStorage and cookies. ``Browser.stop`` closes
  Chrome over CDP first and reaps both.
"""

from __future__ import annotations

import os
import shutil
import subprocess  # nosec B404 # uc's own argv for our local Chrome, no shell
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from selenium import webdriver

from .errors import BrowserStartError

_uc_launch = threading.local()
_uc_driver_lock = threading.Lock()
_uc_patched: set[str] = set()


class _UcSubprocess:
    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    @staticmethod
    def Popen(args: Sequence[str], **kwargs: Any) -> subprocess.Popen:
        kwargs.update(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kwargs["env"] = getattr(_uc_launch, "env", None)
        popen = subprocess.Popen(args, **kwargs)  # noqa: S603 (uc's own command line for our binary) # nosec B603
        tracked = getattr(_uc_launch, "popens", None)  # None: uc used directly, outside start_uc
        if tracked is not None:
            tracked.append(popen)
        return popen


def defuse_uc_driver(driver: Any) -> None:
    """Make a stopped (or half-started) uc driver inert. uc's ``quit()``, run again by its
    ``__del__``, signals the stored Chrome pid, which may belong to another process by
    then; and uc registers ``weakref.finalize(driver, ...)`` holding the driver itself, so
    it would stay in memory until the worker exits (logging into closed streams at exit).
    Run that finalizer now: it only kills the already-reaped chromedriver."""
    driver.browser_pid = None
    for finalizer in list(getattr(weakref.finalize, "_registry", {})):
        details = finalizer.peek()
        if details is not None and details[0] is driver:
            finalizer()


def uc_private_chromedriver(data_dir: str | os.PathLike[str], chromedriver_path: str) -> Path:
    """A patched copy of chromedriver for uc, one per data dir and driver build. uc patches
    its driver in place; patching our own copy once, before any session uses it, means uc
    finds it already patched and never writes to an executable that is running."""
    import undetected_chromedriver as uc

    source = os.stat(chromedriver_path)
    target = Path(data_dir, "bin", f"chromedriver-uc-{source.st_size}-{source.st_mtime_ns}")
    with _uc_driver_lock:
        if str(target) in _uc_patched or (
            target.exists() and uc.Patcher(executable_path=str(target)).is_binary_patched()
        ):
            _uc_patched.add(str(target))
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        shutil.copy2(chromedriver_path, staging)
        patcher = uc.Patcher(executable_path=str(staging))
        patcher.patch_exe()
        if not patcher.is_binary_patched():
            raise BrowserStartError(f"undetected-chromedriver could not patch a copy of {chromedriver_path}")
        os.chmod(staging, 0o700)
        os.replace(staging, target)  # atomic: a concurrent start never sees a half copy
        _uc_patched.add(str(target))
    return target


def start_uc(
    profile: Path,
    arguments: Sequence[str],
    headless: bool,
    env: dict[str, str],
    chromium_path: str,
    driver_copy: Path,
    popens: list[subprocess.Popen],
) -> webdriver.Chrome:
    import undetected_chromedriver as uc

    if not isinstance(uc.subprocess, _UcSubprocess):
        uc.subprocess = _UcSubprocess()  # only uc's own reference to the module is replaced
    # uc adds --user-data-dir and --headless itself (and mangles its list if given them).
    options = uc.ChromeOptions()
    for argument in arguments:
        options.add_argument(argument)
    _uc_launch.env, _uc_launch.popens = env, popens  # Chrome lands first in popens
    _uc_launch.instance = None
    try:
        return _tracked_uc_chrome_class()(
            options=options,
            user_data_dir=str(profile),
            driver_executable_path=str(driver_copy),
            browser_executable_path=chromium_path,
            headless=headless,
            use_subprocess=True,  # Chrome stays our child, so we can reap it
        )
    except BaseException:
        if _uc_launch.instance is not None:
            defuse_uc_driver(_uc_launch.instance)
        raise
    finally:
        _uc_launch.env, _uc_launch.popens, _uc_launch.instance = None, None, None


_tracked_class: type | None = None


def _tracked_uc_chrome_class() -> type:
    """uc.Chrome that reports its chromedriver as soon as it runs (session creation comes
    right after), so a start deadline can kill a driver stuck waiting for Chrome."""
    global _tracked_class
    if _tracked_class is None:
        import undetected_chromedriver as uc

        class TrackedChrome(uc.Chrome):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                _uc_launch.instance = self  # to defuse it if the constructor fails
                super().__init__(*args, **kwargs)

            def start_session(self, capabilities: Any = None, browser_profile: Any = None) -> None:
                process = getattr(self.service, "process", None)
                tracked = getattr(_uc_launch, "popens", None)
                if process is not None and tracked is not None and process not in tracked:
                    tracked.append(process)
                super().start_session(capabilities, browser_profile)

        _tracked_class = TrackedChrome
    return _tracked_class
