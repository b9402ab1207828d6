"""The buyer's pages: cart, checkout, payment, my trades and the address book."""
