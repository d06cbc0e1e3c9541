"""The domain: what rallyline does, free of Flask and RQ.

Functions take a SQLAlchemy session and plain values and return results or
raise the errors in ``service.errors``.
"""
