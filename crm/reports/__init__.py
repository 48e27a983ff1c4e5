"""Aggregate reports: the local return on JET-vestment, the ministry dashboard, disclosure control."""
