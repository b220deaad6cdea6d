"""The orders app: orders, their fills and events; placement, execution, cancellation, watching."""
