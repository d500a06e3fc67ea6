"""A user's integration: closes an interaction, retrying on a 5xx."""
import os
import time

import requests


def close(base_url, sys_id, attempts=5):
    auth = (os.environ["SN_USER"], os.environ["SN_PASSWORD"])
    for attempt in range(attempts):
        response = requests.post(f"{base_url}/api/now/interaction/{sys_id}/close", auth=auth, timeout=10)
        if response.status_code < 500:
            response.raise_for_status()
            return response.json()["result"]
        time.sleep(0.01 * 2**attempt)
    response.raise_for_status()
