"""The event types of the work messages the flows handle (WorkMessage.event_type).

The values are the senders' own spellings, kept as they are so messages queued before any release still apply:
Wix's webhook event types (wix/webhooks.py reads them), and for POS orders Square's, the first provider's (a POS
webhook port maps its provider's order events onto these; ports/pos.py).
"""

from __future__ import annotations

# Wix eCommerce order events (Flow 1; Flows 2 and 3 import into Wix)
ORDER_CREATED = "wix.ecom.v1.order_created"
ORDER_APPROVED = "wix.ecom.v1.order_approved"
# @wix/auto_sdk_ecom_orders 1.0.300 onOrderCanceled: @eventType wix.ecom.v1.order_canceled, an action event whose body
# is OrderCanceledEventOrderCanceled {order, restockAllItems, sendOrderCanceledEmail, customMessage}.
ORDER_CANCELED = "wix.ecom.v1.order_canceled"
# @wix/auto_sdk_ecom_orders 1.0.300 onOrderPaymentStatusUpdated: @eventType wix.ecom.v1.order_payment_status_updated,
# @slug payment_status_updated, an action event whose body is PaymentStatusUpdated {order, previousPaymentStatus}.
ORDER_PAYMENT_STATUS_UPDATED = "wix.ecom.v1.order_payment_status_updated"

# POS order changes (Flows 2 and 3)
POS_ORDER_CREATED = "order.created"
POS_ORDER_UPDATED = "order.updated"
POS_ORDER_FULFILLMENT_UPDATED = "order.fulfillment.updated"
POS_ORDER_EVENTS = frozenset({POS_ORDER_CREATED, POS_ORDER_UPDATED, POS_ORDER_FULFILLMENT_UPDATED})
# What the reconciliation queues for a POS order it finds changed (flows/reconcile.py).
POS_ORDER_RECONCILED = POS_ORDER_UPDATED
# The app's access to a POS account ended (squareup 46 square/types/oauth_authorization_revoked_event.py: data
# {type: "revocation", object: {revocation: {revoked_at, revoker_type: APPLICATION | MERCHANT | SQUARE}}})
POS_ACCESS_REVOKED = "oauth.authorization.revoked"
