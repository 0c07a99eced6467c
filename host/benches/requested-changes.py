"""Places orders and requests one change of each, for http-load.sh's confirm run: prints
the path of each change's confirmation, one per line.

    python3 host/benches/requested-changes.py BASE TOKEN COUNT ORDER_BODY CHANGE_BODY
"""
import http.client
import json
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

base, token, count, order, change = sys.argv[1:6]
url = urllib.parse.urlsplit(base)
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def post(connection, path, body):
    # A store still busy with the run before may answer 503: asked again, a few times.
    for attempt in range(5):
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 503:
            break
        time.sleep(1 + attempt)
    if response.status != 201:
        sys.exit(f"POST {path}: {response.status} {answer[:300]!r}")
    return json.loads(answer)["id"]


def requested(n):
    connection = http.client.HTTPConnection(url.hostname, url.port)
    paths = []
    for _ in range(n):
        order_id = post(connection, "/api/v1/orders/", order)
        changes = f"/api/v1/orders/{order_id}/changes"
        paths.append(f"{changes}/{post(connection, changes, change)}/confirm")
    return paths


workers = 4
with ThreadPoolExecutor(workers) as pool:
    for paths in pool.map(requested, [int(count) // workers] * workers):
        print("\n".join(paths))
