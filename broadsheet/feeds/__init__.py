"""Feeds to email: an RSS or Atom feed's new entries become articles and campaigns.

The worker fetches (over the network, with the link check's address guard) and hands the
answer over as a `Fetched` (fetched.py); here it is read (reading.py), and each entry new to
the feed becomes an article and a campaign in the poll's one transaction (entries.py), the
feed row keeping how its polls went (polling.py).
"""
