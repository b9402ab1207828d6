"""Refunds and after-sales (TOP's Refund): one open refund per order, the seller agrees or
refuses, goods may come back first, an operator settles disputes, and money leaves escrow
(or, after the trade finished, the seller's account) back to where the buyer paid from."""
