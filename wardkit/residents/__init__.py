"""Households and residents by residential group: the registry officers use at the door."""
