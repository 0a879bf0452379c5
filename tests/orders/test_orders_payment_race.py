"""The payment return and the provider's notification at the same moment: one payment, never taken for a second one."""

from __future__ import annotations

from order_support import api_order, order_body, pay_order, token_of


def test_return_and_notification_together_never_refund_the_payment(quiet, simulator):
    """The simulator notifies at once while the citizen's browser comes back: both confirm the same payment."""
    live = quiet
    for _ in range(15):
        body = api_order(live, order_body()).json()
        number, token = body["order_number"], token_of(body["status_url"])
        assert pay_order(live, simulator, number, token).status_code in (200, 303)
        order = live.service.repository.get(number)
        actions = [e.action for e in order.events]
        assert "refund_needed" not in actions, actions
        assert actions.count("paid") == 1
        assert [(p.status, p.refund_status) for p in order.payments] == [("PAYED", None)]
