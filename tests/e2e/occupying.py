"""A job that keeps a worker busy, standing in for a long broadcast chunk."""

import time


def hold(seconds: float) -> None:
    time.sleep(seconds)
