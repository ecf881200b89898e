"""Test-wide plugins: a real Trent server for wire tests, a throwaway PostgreSQL."""

pytest_plugins = [
    "tests.fixtures.trent_server", "tests.fixtures.postgres", "tests.fixtures.softhsm", "tests.fixtures.trent_cluster",
]
