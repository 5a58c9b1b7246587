"""Every URL of the project, asked by anonymous and by each role, with GET and POST, answers as the access table
(tests/security/access.py) says; nothing answers 500. A URL added to the project without a row in the table fails
`test_every_url_has_a_row_in_the_access_table`.
"""

import pytest

from tests.security.access import ACCESS, judge, url_for, url_patterns
from tests.security.world import ROLES, rolled_back


def test_every_url_has_a_row_in_the_access_table():
    served = set(url_patterns())
    assert served - set(ACCESS) == set(), "URLs with no row in ACCESS: say who may use them"
    assert set(ACCESS) - served == set(), "rows in ACCESS for URLs the project no longer serves"


@pytest.mark.parametrize("key", sorted(ACCESS))
def test_url_answers_each_role_as_the_table_says(world, client_for, subtests, key):
    rule = ACCESS[key]
    url = url_for(key, rule, world)
    for method in ("GET", "POST"):
        for role in ROLES:
            # Each request alone: what one role's POST changes is undone before the next one asks.
            with subtests.test(method=method, role=role), rolled_back():
                client = client_for(role)
                send = client.get if method == "GET" else client.post
                response = send(url, headers=rule.headers or {})
                if response.streaming:
                    b"".join(response.streaming_content)  # a failure while streaming a download is a failure too
                expected, got = judge(key, method, role, response)
                assert got == expected, f"{response.status_code} {response.get('Location', '')}"
