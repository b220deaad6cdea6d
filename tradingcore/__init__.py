"""Shared trading domain: enums, DTOs, PnL math, exchange gateway, Redis schema and projection."""
