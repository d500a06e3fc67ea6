CHANNEL = "28a59893873103002ae97e2526cb0b5d"


def test_create_then_close(client, admin_auth):
    created = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth)
    assert created.status_code == 201
    sys_id = created.json["result"]["sys_id"]
    closed = client.post(f"/api/now/interaction/{sys_id}/close", headers=admin_auth)
    assert closed.status_code == 200
    assert closed.json["result"]["state"] == "closed_complete"
