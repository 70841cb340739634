"""Street modes around transit: geometry, street graphs, sharing (GBFS) options and the one
multimodal search."""
