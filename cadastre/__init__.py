"""Domain model shared by every layer: Flurstückskennzeichen, parcels, buildings, addresses."""
