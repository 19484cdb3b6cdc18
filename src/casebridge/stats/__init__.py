"""Statistics: indicators, disclosure control, charts, exports and reports."""
