"""The WhatsApp Web transport: Chromium driven by Selenium (driver/), the page code that
speaks wa-js (bridge.js), the SessionHost that keeps a worker's browsers (host/), and the
page events it turns into database writes (page_events). It depends on sessions_app's core
and on messaging; nothing imports it but the session worker's entry points (tasks, worker)."""
