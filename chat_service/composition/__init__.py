"""The composition root: reads the settings and wires adapters, core and edge into the app."""
