"""Shops: one per seller, with the seller's own category tree."""
