"""Consistency: making reprojected pixels agree with what they are placed beside."""
