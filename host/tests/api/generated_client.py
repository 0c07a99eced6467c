"""An order driven through the client openapi-python-client generated from the service's
/openapi.json (host/tests/api/contract.rs generates it and runs this with the generator's
python, the package on PYTHONPATH).

Arguments: the service's base URL, a user's token, and the order to place (JSON). It
places the order, reads it back, lists the caller's orders, and places it again with a
quantity no stock holds, whose 422 must parse as the document's typed error. Every answer
is parsed by the generated models, so a document that does not describe what the service
sends fails here. Prints what it saw as one JSON object.
"""

import json
import sys

from orderflow_client import AuthenticatedClient
from orderflow_client.api.orders import get_order, list_orders, place_order
from orderflow_client.models import ErrorBody, NewOrder, Order, PageOrder
from orderflow_client.types import UNSET

base_url, token, example = sys.argv[1:4]
client = AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True)

body = NewOrder.from_dict(json.loads(example))
placed = place_order.sync_detailed(client=client, body=body)
assert placed.status_code == 201, (placed.status_code, placed.content)
order = placed.parsed
assert isinstance(order, Order), order

again = get_order.sync(client=client, order_id=order.id)
assert isinstance(again, Order), again
assert again.id == order.id and again.order_number == order.order_number

page = list_orders.sync(client=client, page=1, page_size=20)
assert isinstance(page, PageOrder), page
listed = [str(item.id) for item in page.items]
assert str(order.id) in listed, (order.id, listed)

too_many = json.loads(example)
too_many["items"][0]["quantity"] = 999
refused = place_order.sync_detailed(client=client, body=NewOrder.from_dict(too_many))
assert refused.status_code == 422, (refused.status_code, refused.content)
error = refused.parsed
assert isinstance(error, ErrorBody), error
problems = [] if error.error.problems is UNSET else error.error.problems

print(
    json.dumps(
        {
            "placed": str(order.id),
            "read": str(again.id),
            "listed": listed,
            "total": order.to_dict()["pricing"]["total"],
            "country": order.to_dict()["shipping"]["address"]["country"],
            "refused": {
                "code": error.error.code,
                "field": None if error.error.field is UNSET else error.error.field,
                "problems": [p.to_dict() for p in problems],
            },
        }
    )
)
