"""The organizer API's request and response bodies, one module per resource.

Each module has separate input (request body), query (query string) and output
(response body) schemas; the OpenAPI document is generated from them.
"""
