"""marshmallow schemas for every payload that crosses a boundary."""
