"""Acme Home Loans: a realistic customer site with the Tandem widget installed, for demos and tests."""
