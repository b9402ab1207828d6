"""Logistics: carriers (reference data), offline shipping, parcels and their tracking."""
