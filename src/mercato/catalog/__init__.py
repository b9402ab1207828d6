"""The catalog: platform categories and their props, items with SKUs, images and search.

Callers use ``mercato.catalog.service`` for operations, ``mercato.catalog.search`` for
buyers' searches and ``mercato.catalog.images`` for uploads; ``schemas`` holds the shapes.
"""
