"""REST API of positions (``/api/v1/positions/``) and the HYPERRSI compatibility routes (``/position/...``)."""
