"""The DEMO data holds one order of each kind, in different states, labelled DEMO: a removal
order received (its 24-hour clock runs), a blocking order executed, a draft detection order
waiting for the centre's opinion (its 4-week clock runs)."""

from __future__ import annotations

import pytest

from balise import demo


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_demo_orders(balise):
    demo.seed(balise, reports=1, error_history=False)
    with balise.db.sessions() as session:
        orders = {o.kind: o for o in balise.orders.list(session)}
        clocks = {c.subject_id: c.kind.value for c in balise.clocks.running(session)}
        linked = balise.orders.report_ids(session, orders["removal"])
        url_item = orders["removal"].urls[0].item_id
    assert {k: o.state for k, o in orders.items()} == {"removal": "received", "blocking": "executed",
                                                        "detection": "draft"}
    assert all(o.is_demo and o.reference.startswith("DEMO") for o in orders.values())
    assert clocks[str(orders["removal"].id)] == "order_removal"
    assert clocks[str(orders["detection"].id)] == "order_opinion"
    assert len(linked) == 1 and url_item is not None
