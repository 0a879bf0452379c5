"""Pure image work: page layout, cadastral map face, page composition and export (no HTTP, no Flask)."""
