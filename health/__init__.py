"""The health report, `/metrics`, the health page and API, and the workspace dashboard: the
top layer (DESIGN §3). It reads every app and no app imports it."""
