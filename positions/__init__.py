"""The positions app: positions and their events; lifecycle, the fill ledger, protection, marks."""
