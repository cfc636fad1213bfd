"""Conditioning: what the generators are given (shot-global depth normalisation, masks)."""
