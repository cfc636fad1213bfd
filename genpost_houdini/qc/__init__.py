"""Quality control: temporal warping error, contact sheets, reports."""
