"""The report's charts, one module per section: each draws from the frames a section passes
in (nothing here reads data) and returns a `svg.Chart`."""
