"""USD output: the layers lighters sublayer in Solaris (AOV cards, crowd instancers)."""
