"""Ratings after a finished trade (TOP's TradeRate, §9.7): the buyer rates the seller's
goods and the seller rates the buyer, once per order each, within 15 days of the trade's
end; the seller may reply once to a buyer's rating."""
