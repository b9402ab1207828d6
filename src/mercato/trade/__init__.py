"""Trades: the address book, the cart, checkout with stock reservation, and the trade
state machine (pay, ship, confirm, close) with its timers."""
