"""Orders: products and fees, lifecycle, payment, fulfilment, staff back office, data protection, handover."""
