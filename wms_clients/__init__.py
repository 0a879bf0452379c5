"""Clients of cadastral sources: the WMS/WFS upstream over HTTP and the local dataset, behind one interface."""
