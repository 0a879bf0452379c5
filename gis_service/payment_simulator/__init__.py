"""A stand-in payment service speaking the XBezahldienste-style exchange; run it with `gis-service payment-simulator`."""
