"""Broadcasts: organizers text the movement (BCAST, MOVE, MEET, SEND, ABORT, STATUS, RSVP)."""
