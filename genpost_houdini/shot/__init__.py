"""Shot description: USD camera tracks and frame sequences."""
