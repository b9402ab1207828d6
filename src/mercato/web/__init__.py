"""Server-rendered pages: storefront, account, seller workbench."""
