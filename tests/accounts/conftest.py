import pytest
from django.core.cache import cache

# The client addresses the sign-up tests use (the test client's default first).
SIGNUP_TEST_ADDRESSES = ("127.0.0.1", "203.0.113.9", "198.51.100.7")


@pytest.fixture(autouse=True)
def fresh_signup_budget():
    """Each test starts with the whole BLAZZ_SIGNUP_RATE budget: the throttle counts in Redis,
    which outlives a test's database."""
    keys = [f"throttle_signup_{address}" for address in SIGNUP_TEST_ADDRESSES]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)
