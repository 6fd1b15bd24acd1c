import httpx

from tests.conftest import make_account


async def test_health_and_signup(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200, r.text
    acct = await make_account(client, "alice")
    assert acct.realm == "us"
